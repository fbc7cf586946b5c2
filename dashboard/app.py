"""GAN Workbench: train, watch and explore a GAN in the browser. The frame of the page: the loopback refusal, the
sidebar's config, the control bar, the status line and the view switch; each view lives in dashboard/views/.

This file is also the server. `streamlit run dashboard/app.py` (what `python -m dashboard` and `make dashboard`
run, and how Streamlit users start an app) finds `app = st.App(...)` below and serves this same file as the page
inside Streamlit's ASGI app, with the live feed's routes and the Host guard around everything: every way of
starting serves the same page at the same cost. Imported by that server (no script run context), the file
builds the App; run as the page (a script run, AppTest included), it draws the page.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gan_core.runtime.threads import prepare_openmp  # noqa: E402  (imports no torch)

# Before torch loads: the engine's threading policy for a process shared with the page's server
# (a bounded OpenMP spin; gan_core/runtime/threads.py has the figures). A user's own setting wins.
prepare_openmp("dashboard")

from dashboard import resources, serving  # noqa: E402
from dashboard.form.help import SPEED_HELP, STEP_COUNT_HELP, intro_done, render_intro  # noqa: E402
from dashboard.form.sidebar import field_label, follow_run, live_changes, render_sidebar  # noqa: E402
from dashboard.live import components, feed, frames  # noqa: E402
from dashboard.live.messages import phase, status_message  # noqa: E402
from dashboard.ui.keys import ACTION_ERROR_KEY, VIEW_KEY, VIEWS  # noqa: E402
from dashboard.ui.text import plain  # noqa: E402
from dashboard.views import ab, playground, training  # noqa: E402
from dashboard.views.explorer.page import render_explorer  # noqa: E402
from dashboard.views.runs.page import render_runs  # noqa: E402
from gan_core.config.fields import live_values  # noqa: E402
from gan_core.control.session import ACTIVE, TrainingSession  # noqa: E402
from gan_core.runtime import priority  # noqa: E402
from gan_core.runtime.serial_torch import serial_torch_in_this_thread  # noqa: E402

STEP_COUNT_WIDTH = 130  # px: "Steps per Step" and its help icon on one line
SPEED_KEY = "run.speed"
# Steps per second at most (0: no limit); GAN Lab's speed slider goes from slow motion to full speed.
SPEEDS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)
SPEED_WIDTH = 230  # px


def main() -> None:
    """The whole page: sidebar config, control bar, status line, and the chosen view (only it is built)."""
    st.set_page_config(page_title="GAN Workbench", layout="wide")
    address = st.get_option("server.address")
    host = st.context.headers.get("host")  # the page's own request; None only without a browser (AppTest)
    # Started on every interface (e.g. from another folder, without the config), or reached under a name that
    # is not loopback (DNS rebinding; the App's HostGuard refuses those first): only the refusal is drawn, so
    # this session has no widget, callback or data to act on.
    refused = serving.refusal(address, os.environ)
    if refused is None and host is not None:
        refused = serving.host_refusal(host, os.environ, address)
    if refused:
        st.error(refused)
        st.stop()
    priority.lower_page_threads(priority.page_nice_from_env())  # once per process; training keeps its priority
    # This script run's thread (a new one per run) builds grids and explorer samples with torch on itself
    # alone: an OpenMP pool of its own would slow the training thread's (gan_core/runtime/serial_torch.py).
    serial_torch_in_this_thread()
    session, runner = resources.get_session(), resources.get_ab_runner()
    resources.register_feed(session, runner)
    snapshot = session.snapshot(since=None)  # no rows: the page draws none, the charts fetch theirs
    active = snapshot.status in ACTIVE
    if active and snapshot.config is not None:  # every tab shows the live run's settings
        follow_run((snapshot.run_dir, snapshot.cursor[0]), snapshot.config)
    config, errors, _ = render_sidebar(active)
    st.title("GAN Workbench")
    # Whatever comes and goes above the live components (the intro, an error, Apply, a banner) has a slot that
    # is always there: the positions of what follows never shift, so no live component is remounted (a blank
    # frame) when a notice appears.
    with st.container():
        render_intro(snapshot.status)
    points_source = _points_source(snapshot, config)
    _render_control_bar(session, snapshot.status, config, errors, points_source is not None)
    with st.container():
        _render_apply(session, config, snapshot)
    # A widget with its own state, not st.tabs: the chosen view survives sidebar edits and reruns,
    # and only the visible view is built and refreshed.
    view = st.radio("View", VIEWS, key=VIEW_KEY, horizontal=True, label_visibility="collapsed")
    busy = snapshot.status in ("running", "stopping") or snapshot.steps_pending > 0
    # The status line: drawn with the page, then fetched from the live feed; the page reruns only when the
    # user acts or the run changes phase by itself (paused, failed, finished, its steps done).
    components.status("status", status_message(snapshot, session.speed_limit), phase(snapshot), busy,
                      key="live.status")
    with st.container():
        _render_banners(snapshot)
    # Where the run stands as this page is drawn: a Step or a live change (Apply, while paused) moves it, and
    # the live views fetch what it changed at once.
    at = (snapshot.run_dir, *snapshot.cursor, snapshot.step, frames.config_key(snapshot.config))
    if view == "Training":
        if points_source is not None:
            playground.render_playground(points_source, busy, at)
        else:
            training.render_live(busy, at)
        training.render_extras(session, snapshot, None if config is None or active else config.loss.loss)
    elif view == "Latent explorer":
        render_explorer(session, snapshot)
    elif view == "A/B":
        ab.render_ab(runner, config, session.runs_root)
    else:
        render_runs(session, snapshot)


def _points_source(snapshot, sidebar_config):
    """What the playground shows: ("run", the run's config) while a 2D run is active, or after one (the run the
    status line names) unless the sidebar holds another 2D data set; then ("data", the sidebar's 2D data
    config, None while a drawn set is still being drawn), to see or draw before Start; None for images."""
    run_config = snapshot.config
    if snapshot.status in ACTIVE and run_config is not None:
        return ("run", run_config) if run_config.data.is_points else None
    if sidebar_config is not None and sidebar_config.data.is_points:
        if run_config is not None and run_config.data == sidebar_config.data:
            return "run", run_config  # the finished run's last frame, until the data set changes
        return "data", sidebar_config.data
    if sidebar_config is None and st.session_state.get("cfg.data.name") == "drawn":
        return "data", None
    if run_config is not None and run_config.data.is_points:
        return "run", run_config  # an image data set chosen after a 2D run: the view still shows that run
    return None


def _render_banners(snapshot) -> None:
    """Why a run failed or paused itself, and what to do: drawn with the page (they change its phase)."""
    if snapshot.status == "failed":
        st.error(f"Training failed: {plain(snapshot.error)}. The run directory keeps its metrics and its last "
                 "checkpoint: resume it from the Runs view, or change the settings and Start again.")
    if snapshot.diverged:
        last = snapshot.last_checkpoint_step
        st.warning(f"Non-finite loss at step {snapshot.step}: the run is paused and its last good checkpoint "
                   f"({'step ' + str(last) if last >= 0 else 'the initial weights'}) is kept. Lower the "
                   "learning rates in the sidebar and press Apply, then Resume: training restarts from it.")


def _render_control_bar(session: TrainingSession, status: str, config, errors: dict[str, str],
                        points: bool = False) -> None:
    """Start, Pause, Resume, Stop, Step (n), for 2D runs D step and G step, and the speed limit, each enabled
    only when it makes sense. One row that wraps: every control keeps its own width and a readable label
    from 1024 px wide up."""
    can_start = status not in ACTIVE and config is not None
    if can_start:
        try:  # load the data while the user reads the page, and build the models off this thread (warm-up)
            resources.warm_engine(config)
        except (ValueError, FileNotFoundError, OSError) as error:
            st.session_state[ACTION_ERROR_KEY] = f"data.name={config.data.name}: {error}"
            can_start = False
    not_paused = status != "paused"
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="controls"):
        st.button("Start", key="btn.start", disabled=not can_start, type="primary",
                  on_click=_call, args=(_start, session, config))
        st.button("Pause", key="btn.pause", disabled=status != "running", on_click=_call,
                  args=(_and_wait, session, session.pause, ("paused", "failed", "finished")))
        st.button("Resume", key="btn.resume", disabled=not_paused, on_click=_call,
                  args=(_and_wait, session, session.resume, ("running", "failed", "finished")))
        st.button("Stop", key="btn.stop", disabled=status not in ("running", "paused"),
                  on_click=_call, args=(_and_wait, session, session.stop, ("finished", "failed")))
        st.button("Step", key="btn.step", disabled=not_paused, on_click=_call, args=(_step_and_wait, session))
        st.number_input("Steps per Step", min_value=1, max_value=10000, value=1, key="btn.step_n",
                        help=STEP_COUNT_HELP, disabled=not_paused, width=STEP_COUNT_WIDTH)
        if points:
            # GAN Lab's finer stepping: one network moves, the other stands still (a paused run only).
            st.button("D step", key="btn.step_d", disabled=not_paused, on_click=_call,
                      args=(_step_and_wait, session, "discriminator"),
                      help="One step that updates only D: watch its surface move while the fakes stay.")
            st.button("G step", key="btn.step_g", disabled=not_paused, on_click=_call,
                      args=(_step_and_wait, session, "generator"),
                      help="One step that updates only G: watch the fakes follow the arrows.")
        _render_speed(session)
    with st.container():  # slots that are always there (see main)
        if errors and status not in ACTIVE:
            st.warning(errors_banner(errors))
        message = st.session_state.pop(ACTION_ERROR_KEY, None)
        if message:
            st.error(message)


def _speed_label(limit: float) -> str:
    """The speed slider's words for a limit (0: none)."""
    return "no limit" if not limit else f"{limit:g}/s" + (" (slow motion)" if limit < 1 else "")


def _render_speed(session: TrainingSession) -> None:
    """The speed limit (GAN Lab's speed slider): shows the session's own, so every tab agrees; a change applies
    at once, from the next step."""
    limit = session.speed_limit or 0.0
    options = SPEEDS if limit in SPEEDS else tuple(sorted({*SPEEDS, limit}))
    st.session_state[SPEED_KEY] = limit
    st.select_slider("Speed (steps/s)", options, key=SPEED_KEY, format_func=_speed_label, help=SPEED_HELP,
                     on_change=_call, args=(_set_speed, session), width=SPEED_WIDTH)


def _set_speed(session: TrainingSession) -> None:
    session.set_speed_limit(st.session_state.get(SPEED_KEY) or None)  # 0: no limit


def errors_banner(errors: dict[str, str]) -> str:
    """The control bar's line naming every setting that keeps Start off."""
    names = ", ".join(f"**{field_label(field)}**" for field in errors)
    return f"Fix {'this setting' if len(errors) == 1 else f'these {len(errors)} settings'} to start: {names}."


def _start(session: TrainingSession, config) -> None:
    """Start a run on the data set this page already loaded."""
    session.start(config, dataset=resources.cached_dataset(config.data))
    intro_done()
    # The page that follows then shows the first step's point instead of an empty chart.
    session.wait_for(lambda s: s.status != "running" or s.snapshot(since=(-1, 0)).step >= 1, 1.0)


def _call(method, *args) -> None:
    """Run a session method from a button; keep its error message for the page instead of a traceback."""
    try:
        method(*args)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        st.session_state[ACTION_ERROR_KEY] = str(error)


def _and_wait(session: TrainingSession, method, statuses: tuple[str, ...]) -> None:
    """Call a control method, then wait up to 5 s for the thread to confirm (one step at most)."""
    method()
    session.wait_for(lambda s: s.status in statuses, 5.0)


def _step_and_wait(session: TrainingSession, update: str = "both") -> None:
    """Step: ask for n steps (the number beside Step, read at click time); D step and G step: one step of that
    network, as their labels say (they exist to watch one network move at a time). Waits up to 2 s for them."""
    count = int(st.session_state.get("btn.step_n", 1)) if update == "both" else 1
    session.step(count, update)
    session.wait_for(lambda s: s.snapshot().steps_pending == 0 or s.status != "paused", 2.0)


def _render_apply(session: TrainingSession, config, snapshot) -> None:
    """During a run, an Apply button sends changed live fields (learning rates, betas, loss...) to the session;
    it waits until the thread has applied them, so the button is gone on the next draw."""
    if snapshot.status not in ("running", "paused"):
        return
    changes = live_changes(config, snapshot.config)
    if changes:
        label = ", ".join(f"{field_label(path)} = {value}" for path, value in changes.items())
        st.button(f"Apply {label}", key="btn.apply", on_click=_call, args=(_apply_and_wait, session, changes))


def _apply_and_wait(session: TrainingSession, changes: dict) -> None:
    """Queue the changes, then wait up to 5 s for the training thread to apply them (before its next step)."""
    session.update(changes)

    def applied(s) -> bool:
        snapshot = s.snapshot(since=None)
        return snapshot.config is None or all(live_values(snapshot.config).get(k) == v for k, v in changes.items())

    session.wait_for(applied, 5.0)


if get_script_run_ctx() is None:
    # Imported by `streamlit run` (or uvicorn) to serve: Streamlit's ASGI app runs this file as the page, with
    # the live feed's routes and the components' shared module. HostGuard answers 403 to any request addressed
    # to a name that is not loopback (or one the user named), before the page, its WebSocket or the feed; the
    # listen address is read per request, so the guard compares with the one Streamlit serves on.
    def _address() -> str | None:
        return st.get_option("server.address")

    from starlette.middleware import Middleware

    app = st.App(__file__, routes=[*feed.routes(_address), *components.asset_routes()],
                 middleware=[Middleware(serving.HostGuard, address=_address)])
else:
    main()
