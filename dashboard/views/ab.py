"""The A/B view (#11 item 6): two runs that differ in one field, same data and seed, trained and shown side by side.

The engine (gan_core/control/ab.py) trains the pair and keeps each run an ordinary run directory (tag "ab"); this page
is its form, its live view (the progress line with a table of the latest numbers, two playground canvases for
2D points or two live sample grids for images, and the overlaid curves: all fed by the live feed from the
rows the runner holds in memory) and the line that says where the runs are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.form.sidebar import field_label, use_drawn_points
from dashboard.live import components
from dashboard.live.ab_messages import SOURCES, ab_status_message, run_labels
from dashboard.live.spec import overlay_charts
from dashboard.ui.text import plain
from gan_core.config.fields import parse_value
from gan_core.config.schema import LOSS_NAMES, RunConfig, resolve_field
from gan_core.control.ab import AB_TAG, ABRunner, ab_configs, describe_value

AB_FIELDS = ("loss.loss", "optimizer.lr_d", "optimizer.lr_g", "optimizer.d_steps_per_g_step",
             "loss.label_smoothing", "loss.r1_gamma", "model.hidden_dim", "model.latent_dim",
             "training.batch_size", "training.seed", "training.ema_decay")
POINT_STEPS, IMAGE_STEPS = 2000, 300  # seconds-to-a-minute of training on two CPU cores, for each kind
ERROR_KEY = "ab.error"


def render_ab(runner: ABRunner, sidebar_config: RunConfig | None, runs_root: str | Path) -> None:
    """The form (on the sidebar's config), then the experiment's live or finished view."""
    progress = runner.progress()
    running = progress.status == "running"
    st.caption("Two runs that differ in one setting, with the same data and seed, trained step by step in "
               "turn. They share this machine's CPU cores with a run started in the Training view.")
    if sidebar_config is None:
        st.warning("The sidebar's settings are invalid: fix them (the messages are beside each field) to start "
                   "an A/B experiment from them.")
    else:
        render_form(runner, sidebar_config, runs_root, running)
    message = st.session_state.pop(ERROR_KEY, None)
    with st.container():  # always there: a message coming and going never remounts the live parts below
        if message:
            st.error(plain(message))
    if progress.status == "idle":
        return
    render_experiment(runner)


def render_form(runner: ABRunner, config: RunConfig, runs_root: str | Path, running: bool) -> None:
    """Field, value A, value B, steps and Run A/B; a bad value's message right below the values."""
    columns = st.columns([1.4, 1, 1, 0.8, 0.8], vertical_alignment="bottom")
    field = columns[0].selectbox("Setting to compare", AB_FIELDS, key="ab.field", disabled=running,
                                 format_func=lambda name: f"{field_label(name)} ({name})",
                                 help="The one config field that differs between run A and run B; every other "
                                      "setting is the sidebar's.")
    default_a, default_b = suggested_values(config, field)
    texts = []
    for column, label, default in ((columns[1], "A", default_a), (columns[2], "B", default_b)):
        key = f"ab.value_{label.lower()}.{field}"  # one widget per field: each keeps its own values
        if field == "loss.loss":
            texts.append(column.selectbox(f"Value {label}", LOSS_NAMES, index=LOSS_NAMES.index(default), key=key,
                                          disabled=running))
        else:
            texts.append(column.text_input(f"Value {label}", describe_value(default), key=key, disabled=running,
                                           help=f"Typed as in the CLI, e.g. {describe_value(default)}."))
    kind = "points" if config.data.is_points else "images"
    columns[3].number_input("Steps each", min_value=1, max_value=1_000_000, step=100,
                            value=POINT_STEPS if kind == "points" else IMAGE_STEPS, key=f"ab.steps.{kind}",
                            disabled=running, help="Steps each run trains; Stop ends both early, each with a checkpoint.")
    _, problem = parse_ab_values(config, field, texts[0], texts[1])
    columns[4].button("Run A/B", key="ab.run", type="primary", disabled=running or problem is not None,
                      on_click=_start, args=(runner, config, field, kind, runs_root))
    with st.container():  # always there (see render_ab)
        if problem is not None and not running:
            st.error(plain(problem))


def suggested_values(config: RunConfig, field: str) -> tuple[Any, Any]:
    """Value A and value B a form starts with: the seed's minimax vs non_saturating for the loss, else the
    sidebar's value against a nearby alternative worth seeing."""
    section, name = resolve_field(field)
    current = getattr(getattr(config, section), name)
    if field == "loss.loss":
        return "minimax", "non_saturating"
    if field in ("optimizer.lr_d", "optimizer.lr_g"):
        return current, current * 2
    if field == "loss.label_smoothing":
        return current, 0.1 if current != 0.1 else 0.0
    if field == "loss.r1_gamma":
        return current, 1.0 if current == 0 else 0.0
    if field == "training.ema_decay":
        return current, 0.999 if current == 0 else 0.0
    if field == "training.batch_size":
        return current, max(1, current // 2)
    if field == "optimizer.d_steps_per_g_step":
        return current, 5 if current == 1 else 1
    if field == "model.latent_dim":
        return current, 8 if current != 8 else 2
    if field == "training.seed":
        return current, current + 1
    return current, current * 2  # hidden_dim


def parse_ab_values(config: RunConfig, field: str, text_a: str, text_b: str) -> tuple[tuple[Any, Any], str | None]:
    """((value A, value B), None) when the pair makes a valid experiment, else (what parsed, ab_configs' or
    parse_value's message naming the field and what is allowed)."""
    try:
        values = (parse_value(field, str(text_a).strip()), parse_value(field, str(text_b).strip()))
        ab_configs(config, field, *values)
    except ValueError as error:
        return (text_a, text_b), str(error)
    return values, None


def _start(runner: ABRunner, config: RunConfig, field: str, kind: str, runs_root: str | Path) -> None:
    """Run A/B's click: start the pair, or keep the reason it cannot start for the page (never a traceback).
    The values are read now: a value typed just before the click reaches the callback only through state."""
    state = st.session_state
    values, problem = parse_ab_values(config, field, state.get(f"ab.value_a.{field}", ""),
                                      state.get(f"ab.value_b.{field}", ""))
    try:
        if problem is not None:
            raise ValueError(problem)
        runner.start(config, field, values[0], values[1], int(state.get(f"ab.steps.{kind}", 1)), runs_root)
    except (ValueError, RuntimeError, OSError) as error:
        state[ERROR_KEY] = f"The A/B experiment did not start: {error}"


def render_experiment(runner: ABRunner) -> None:
    """Progress and the latest numbers, Stop, each run's view side by side, the overlaid curves: each fetches
    what is new from the live feed while the pair trains; the page reruns when the experiment ends."""
    progress = runner.progress()
    labels = run_labels(progress)
    running = progress.status == "running"
    components.status("ab_status", ab_status_message(progress, (runner.snapshot(0), runner.snapshot(1))),
                      [progress.status], running, key="ab.status")
    st.button("Stop A/B", key="ab.stop", disabled=not running, on_click=_stop, args=(runner,))
    with st.container():  # always there: the end's messages never remount the runs' views below
        if progress.status == "failed":
            st.error(f"The A/B experiment failed: {plain(progress.error)}. Both runs keep their metrics and last "
                     "checkpoint.")
        if not running:
            names = " and ".join(Path(path).name for path in progress.run_dirs if path)
            st.success(f"Both runs are kept as ordinary run directories: open them in the Runs view (tag "
                       f"{AB_TAG}) to compare them further: {plain(names)}.")
    for side, column in enumerate(st.columns(2, gap="medium")):
        with column:
            render_side(progress, side, labels[side], running)
    components.charts("ab_charts", running, overlay_charts(SOURCES, labels), key="ab.charts")


def render_side(progress, side: int, label: str, running: bool) -> None:
    """One run's heading (its final step once it ended), then its playground canvas (2D points) or its live
    sample grid (images), fed by the live feed."""
    ended = progress.ended[side]
    st.markdown(f"**{plain(label)}**" + ("" if running else f" · step **{progress.step[side]}**")
                + (f" · {plain(ended)}" if ended else ""))
    config = progress.configs[side]
    part = f"ab_{SOURCES[side].lower()}"
    if config is not None and config.data.is_points:
        key = f"ab.playground.{SOURCES[side].lower()}"
        components.playground(key, lambda: _use_drawn(key), part=part, busy=running)
    else:
        components.images(part, running, key=f"ab.images.{SOURCES[side].lower()}", compact=True)


def _stop(runner: ABRunner) -> None:
    """Stop A/B's click: end both runs after the current step and wait a moment for their checkpoints."""
    runner.stop()
    runner.wait(5.0)


def _use_drawn(key: str) -> None:
    """A canvas sent drawn points: the sidebar, drawn after this callback, switches to data set `drawn`."""
    points = components.drawn_points(key)
    if points is not None:
        use_drawn_points(points)
