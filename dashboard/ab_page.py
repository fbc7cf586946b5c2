"""The A/B view (#11 item 6): two runs that differ in one field, same data and seed, trained and shown side by side.

The engine (gan_core/control/ab.py) trains the pair and keeps each run an ordinary run directory (tag "ab"); this page
is its form, its live view (two playground canvases for 2D points, two sample grids for images, overlaid
curves and a table of the latest numbers) and the line that says where the runs are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import charts, playground
from dashboard.panels import cached_dataset
from dashboard.sidebar import field_label, use_drawn_points
from dashboard.text import plain
from gan_core.config.fields import parse_value
from gan_core.config.schema import LOSS_NAMES, RunConfig, resolve_field
from gan_core.control.ab import AB_TAG, ABProgress, ABRunner, ab_configs, describe_value
from gan_core.files import UnreadableFile, read_bytes
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import MAX_GRID_BYTES, RunPaths, sample_grids

AB_FIELDS = ("loss.loss", "optimizer.lr_d", "optimizer.lr_g", "optimizer.d_steps_per_g_step",
             "loss.label_smoothing", "loss.r1_gamma", "model.hidden_dim", "model.latent_dim",
             "training.batch_size", "training.seed", "training.ema_decay")
POINT_STEPS, IMAGE_STEPS = 2000, 300  # seconds-to-a-minute of training on two CPU cores, for each kind
REFRESH_S = 1.0
LABELS = ("A", "B")
CURVES = {"d_loss": "D loss", "g_loss": "G loss", "d_fake": "D(G(z)) on fakes", "grad_norm_g": "|grad G|"}
SUMMARY_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_g")
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
    if message:
        st.error(plain(message))
    if progress.status == "idle":
        return
    st.fragment(run_every=REFRESH_S if running else None)(render_experiment)(runner, progress.status)


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


def render_experiment(runner: ABRunner, page_status: str) -> None:
    """Progress and Stop, each run's view side by side, the overlaid curves and the latest numbers."""
    progress = runner.progress()
    labels = run_labels(progress)
    done = sum(progress.step)
    st.progress(min(1.0, done / max(1, 2 * progress.steps)),
                text=plain(f"{progress.status}: A {progress.step[0]} and B {progress.step[1]} of "
                           f"{progress.steps} steps · {progress.field}: A {describe_value(progress.values[0])}, "
                           f"B {describe_value(progress.values[1])}"))
    st.button("Stop A/B", key="ab.stop", disabled=progress.status != "running", on_click=_stop, args=(runner,))
    if progress.status == "failed":
        st.error(f"The A/B experiment failed: {plain(progress.error)}. Both runs keep their metrics and last "
                 "checkpoint.")
    if progress.status != "running":
        names = " and ".join(Path(path).name for path in progress.run_dirs if path)
        st.success(f"Both runs are kept as ordinary run directories: open them in the Runs view (tag "
                   f"{AB_TAG}) to compare them further: {plain(names)}.")
    metrics = [_read(path, "metrics") for path in progress.run_dirs]
    quality = [_read(path, "quality") for path in progress.run_dirs]
    columns = st.columns(2, gap="medium")
    for side, column in enumerate(columns):
        with column:
            render_side(runner, progress, side, labels[side])
    frames = {labels[side]: metrics[side] for side in range(2)}
    smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="ab.smoothing",
                          help="Exponential moving average of each curve.")
    chart_columns = st.columns(2)
    for index, (column, figure) in enumerate(curve_figures(frames, smoothing).items()):
        chart_columns[index % 2].plotly_chart(figure, key=f"ab.curve.{column}")
    table = summary_table(progress, labels, metrics, quality)
    st.dataframe(table.rename_axis("latest").reset_index(), hide_index=True, height="content", key="ab.summary")
    if st.session_state.pop("ab.drawn_applied", False):
        st.rerun(scope="app")  # the sidebar (outside this fragment) now shows data set `drawn`
    if progress.status != page_status:
        st.rerun(scope="app")  # the experiment ended by itself: redraw the form and switch the timer off


def render_side(runner: ABRunner, progress: ABProgress, side: int, label: str) -> None:
    """One run's heading, then its playground canvas (2D points) or its latest sample grid (images)."""
    ended = progress.ended[side]
    st.markdown(f"**{plain(label)}** · step **{progress.step[side]}**"
                + (f" · {plain(ended)}" if ended else ""))
    config = progress.configs[side]
    run_dir = progress.run_dirs[side]
    if config is not None and config.data.is_points:
        real = cached_dataset(config.data).images
        key = f"ab.playground.{LABELS[side].lower()}"
        playground.render_playground(lambda: side_views(runner, side, config, run_dir or "", real),
                                     ("ab", run_dir, progress.step[side]), lambda: _use_drawn(key), key=key)
        return
    grids = sample_grids(RunPaths(run_dir)) if run_dir else []
    if not grids:
        every = config.training.sample_every if config is not None else None
        st.caption("No sample grid saved yet" + (f": each run saves one every {every} steps and at its end."
                                                 if every else "."))
        return
    step, path = grids[-1]
    try:
        st.image(read_bytes(path, MAX_GRID_BYTES), caption=f"step {step}", output_format="PNG")
    except (OSError, UnreadableFile) as error:
        st.caption(f"The grid of step {step} cannot be read: {plain(error)}")


def side_views(runner: ABRunner, side: int, config: RunConfig, run_dir: str, real) -> playground.PlaygroundViews:
    """A frame of one side from copies of its G and D, with its own loss (the arrows) and latent size."""
    models = runner.models(side)
    if models is None:
        return playground.data_views(run_dir, real)
    generator, discriminator = models.generator.cpu(), models.discriminator.cpu()
    return playground.compute_views(run_dir, models.step, generator, discriminator, real,
                                    playground.fixed_noise(config.model.latent_dim, config.training.seed),
                                    config.loss.loss, playground.view_bounds(real))


def run_labels(progress: ABProgress) -> tuple[str, str]:
    """'A: loss.loss=minimax' and 'B: loss.loss=non_saturating', as the runs' display names."""
    return tuple(f"{LABELS[side]}: {progress.field}={describe_value(progress.values[side])}" for side in range(2))


def curve_figures(frames: dict[str, pd.DataFrame], smoothing: float) -> dict[str, go.Figure]:
    """One overlay per compared curve (losses, D(G(z)), |grad G| on a log axis), A and B in fixed colours."""
    styles = charts.run_styles(frames)
    figures = {}
    for column, title in CURVES.items():
        figure = charts.overlay_figure(frames, column, smoothing, "step", styles, title=title)
        if column == "grad_norm_g":
            figure.update_yaxes(type="log")
        if column == "d_fake":
            figure.update_yaxes(range=[0, 1])
        figures[column] = figure
    return figures


def summary_table(progress: ABProgress, labels: tuple[str, str], metrics: list[pd.DataFrame],
                  quality: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows of numbers, a column per run: status, steps, the last metrics row and the latest quality row."""
    rows: dict[str, list[str]] = {"status": [progress.ended[side] or progress.status for side in range(2)],
                                  "step": [str(progress.step[side]) for side in range(2)]}
    for name in SUMMARY_METRICS:
        rows[name] = [_last(metrics[side], name) for side in range(2)]
    measured = [frame for frame in quality if not frame.empty]  # an unwritten quality.csv reads as metrics'
    if measured:
        rows["quality at step"] = [_last(frame, "step") if not frame.empty else "-" for frame in quality]
    for name in dict.fromkeys(name for frame in measured for name in frame.columns if name not in ("step", "eval_s")):
        rows[name] = [_last(frame, name) if not frame.empty else "-" for frame in quality]
    return pd.DataFrame(rows, index=list(labels)).T.astype("string")


def _last(frame: pd.DataFrame, column: str) -> str:
    """A column's last value as text ('-' when there is none)."""
    if column not in frame or frame.empty or pd.isna(frame[column].iloc[-1]):
        return "-"
    value = float(frame[column].iloc[-1])
    return str(int(value)) if value.is_integer() and abs(value) < 1e12 else f"{value:.4g}"


def _read(run_dir: str | None, table: str) -> pd.DataFrame:
    """A run's metrics.csv or quality.csv (empty when missing or unreadable)."""
    if not run_dir:
        return pd.DataFrame()
    paths = RunPaths(run_dir)
    try:
        return read_metrics(paths.metrics if table == "metrics" else paths.quality)
    except (ValueError, OSError):
        return pd.DataFrame()


def _stop(runner: ABRunner) -> None:
    """Stop A/B's click: end both runs after the current step and wait a moment for their checkpoints."""
    runner.stop()
    runner.wait(5.0)


def _use_drawn(key: str) -> None:
    """A canvas sent drawn points: the sidebar switches to data set `drawn`, for the next experiment or run."""
    points = playground.drawn_points(key)
    if points is not None:
        use_drawn_points(points)
        st.session_state["ab.drawn_applied"] = True
