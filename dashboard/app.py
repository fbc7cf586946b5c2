"""GAN Workbench: train, watch and explore a GAN in the browser. Page layout only; the engine does the work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gan_core.runtime.threads import prepare_openmp  # noqa: E402  (imports no torch)

# Before torch loads: the engine's threading policy for a process shared with the page's server
# (a bounded OpenMP spin; gan_core/runtime/threads.py has the figures). A user's own setting wins.
prepare_openmp("dashboard")

from dashboard import feed, live, playground, serving  # noqa: E402
from dashboard.ab_page import render_ab  # noqa: E402
from dashboard.explorer import render_explorer  # noqa: E402
from dashboard.guide import PLAYGROUND_GUIDE, STEP_COUNT_HELP, intro_done, render_intro  # noqa: E402
from dashboard.panels import (cached_dataset, real_png, render_banners, render_downloads, render_live,  # noqa: E402
                              render_status, render_why_non_saturating, warm_engine)
from dashboard.runs_page import render_runs  # noqa: E402
from dashboard.sidebar import (field_label, live_changes, load_run_config_once, render_sidebar,  # noqa: E402
                               use_drawn_points)
from dashboard.upload import data_root  # noqa: E402
from gan_core.config.fields import live_values  # noqa: E402
from gan_core.control.ab import ABRunner  # noqa: E402
from gan_core.control.session import ACTIVE, TrainingSession  # noqa: E402
from gan_core.data.image_import import clean_staging_folders  # noqa: E402
from gan_core.runtime import priority  # noqa: E402
from gan_core.runtime.serial_torch import serial_torch_in_this_thread  # noqa: E402

LIVE_REFRESH_S = 1.0
EXPLORER_REFRESH_S = 5.0
VIEWS = ("Training", "Latent explorer", "Runs", "A/B")


def main() -> None:
    """The whole page: sidebar config, control bar, and the chosen view (only its live part refreshes)."""
    st.set_page_config(page_title="GAN Workbench", layout="wide")
    address = st.get_option("server.address")
    host = st.context.headers.get("host")  # the page's own request; None only without a browser (AppTest)
    # Started on every interface (e.g. from another folder, without the config), or reached under a name that
    # is not loopback (DNS rebinding; dashboard/server.py refuses those before, a bare app.py only here): only
    # the refusal is drawn, so this session has no widget, callback or data to act on.
    refused = serving.refusal(address, os.environ)
    if refused is None and host is not None:
        refused = serving.host_refusal(host, os.environ, address)
    if refused:
        st.error(refused)
        st.stop()
    priority.lower_page_threads(priority.page_nice_from_env())  # once per process; training keeps its priority
    # This script run's thread (a new one per run) builds models, grids and explorer samples with torch on
    # itself alone: an OpenMP pool of its own would slow the training thread's (gan_core/runtime/serial_torch.py).
    serial_torch_in_this_thread()
    session = get_session()
    feed.register(session, real_png)
    snapshot = live.current_snapshot(session, "page")
    active = snapshot.status in ACTIVE
    if active and snapshot.config is not None:
        load_run_config_once(snapshot.config)
    config, errors, _ = render_sidebar(active)
    st.title("GAN Workbench")
    render_intro(snapshot.status)
    points_config = _points_config(snapshot, config)
    render_control_bar(session, snapshot.status, config, errors, points=points_config is not None)
    render_apply(session, config, snapshot)
    # A widget with its own state, not st.tabs: the chosen view survives sidebar edits and reruns,
    # and only the visible view is built and refreshed.
    view = st.radio("View", VIEWS, key="view", horizontal=True, label_visibility="collapsed")
    busy = snapshot.status in ("running", "stopping") or snapshot.steps_pending > 0
    refresh = LIVE_REFRESH_S if busy else None
    # Served by dashboard/server.py, the live parts fetch what is new themselves (dashboard/feed.py) and the
    # page reruns only on user actions and phase changes; otherwise (AppTest, a bare `streamlit run
    # dashboard/app.py`) fragments rerun once a second. The 2D playground's canvas always reruns.
    use_feed = feed.enabled()
    if view == "Training":
        if points_config is not None:
            st.fragment(run_every=refresh)(render_playground_fragment)(session, _phase(snapshot), points_config)
        elif use_feed:
            feed.render_status(session, _phase(snapshot), busy)
            render_banners(snapshot)
            feed.render_live(busy)
        else:
            # One fragment for the status line, charts and images: the browser's cost is per rerun.
            st.fragment(run_every=refresh)(render_training_fragment)(session, _phase(snapshot))
        render_training_extras(session, snapshot, None if config is None or active else config.loss.loss)
        return
    if use_feed:
        feed.render_status(session, _phase(snapshot), busy)
        render_banners(snapshot)
    else:
        st.fragment(run_every=refresh)(render_status_fragment)(session, _phase(snapshot))
    if view == "Latent explorer":
        follow = st.toggle("Follow the live run", value=True, key="explore.follow",
                           help=f"Resample from the current generator every {EXPLORER_REFRESH_S:.0f} s while training.")
        refresh = EXPLORER_REFRESH_S if follow and snapshot.status == "running" else None
        st.fragment(run_every=refresh)(render_explorer_fragment)(session)
    elif view == "A/B":
        render_ab(get_ab_runner(), config, session.runs_root)
    else:
        render_runs(session, snapshot)


def render_training_fragment(session: TrainingSession, page_phase: tuple[str, bool]) -> None:
    """Status line, charts and images, each sent only what is new to this tab."""
    snapshot = render_live(session)
    _rerun_on_phase_change(snapshot, page_phase)


def _points_config(snapshot, sidebar_config):
    """What the playground shows: ("run", the run's config) while a 2D run is active, or after one whose data
    the sidebar still holds; else ("data", the sidebar's 2D data config, None while a drawn set is still being
    drawn); None for images."""
    if snapshot.status in ACTIVE and snapshot.config is not None:
        return ("run", snapshot.config) if snapshot.config.data.is_points else None
    if sidebar_config is not None and sidebar_config.data.is_points:
        if snapshot.config is not None and snapshot.config.data == sidebar_config.data:
            return "run", snapshot.config  # the finished run's last frame, until the data set changes
        return "data", sidebar_config.data
    if sidebar_config is None and st.session_state.get("cfg.data.name") == "drawn":
        return "data", None
    return None


def render_playground_fragment(session: TrainingSession, page_phase: tuple[str, bool], source) -> None:
    """A 2D run: status line, the same charts, and the playground canvas with its short guide."""
    snapshot = render_live(session, lambda snapshot: render_canvas(session, snapshot, source))
    if st.session_state.pop("playground.drawn_applied", False):
        st.rerun(scope="app")  # the sidebar (outside this fragment) now shows data set `drawn`
    _rerun_on_phase_change(snapshot, page_phase)


def render_canvas(session: TrainingSession, snapshot, source) -> None:
    """The playground: the run's game (D's surface, fakes, arrows, mesh) or the data alone before a run."""
    kind, config = source
    if kind == "run" and snapshot.config is not None:
        real = cached_dataset(snapshot.config.data).images
        playground.render_playground(lambda: playground.run_views(session, snapshot, real),
                                     ("run", snapshot.run_dir, snapshot.step, snapshot.cursor[0]), _use_drawn)
    else:
        real = cached_dataset(config).images if config is not None else None
        playground.render_playground(lambda: playground.data_views(f"data:{config}", real),
                                     ("data", str(config)), _use_drawn)
    st.caption(PLAYGROUND_GUIDE)


def _use_drawn() -> None:
    """The canvas sent drawn points: the sidebar switches to data set `drawn` with them."""
    points = playground.drawn_points()
    if points is not None:
        use_drawn_points(points)
        st.session_state["playground.drawn_applied"] = True


def render_training_extras(session: TrainingSession, snapshot, chosen_loss: str | None = None) -> None:
    """The parts of the Training view that need no live refresh: CSV download and the explainer (for the
    run's loss, or the loss chosen in the sidebar for the next run)."""
    render_downloads(snapshot)
    last_d_fake = None
    if snapshot.status != "idle":
        # The last row only: a cursor one row short of the end.
        latest = session.snapshot(since=(snapshot.cursor[0], max(0, snapshot.cursor[1] - 1)))
        if latest.rows:
            last_d_fake = latest.rows[-1][latest.columns.index("d_fake")]
    render_why_non_saturating(last_d_fake, chosen_loss or (snapshot.config.loss.loss if snapshot.config else None))


def render_explorer_fragment(session: TrainingSession) -> None:
    """The latent explorer on a fresh snapshot (its fragment refreshes slowly while following a run)."""
    render_explorer(session, live.current_snapshot(session, "explorer"))


@st.cache_resource
def get_session() -> TrainingSession:
    """One TrainingSession per server process: a refresh or a second tab sees the same run."""
    runs_root = os.environ.get("GAN_WORKBENCH_RUNS", "runs")
    clean_staging_folders(data_root(runs_root))  # once per server: what a killed import left behind
    return TrainingSession(runs_root=runs_root)


@st.cache_resource
def get_ab_runner() -> ABRunner:
    """One A/B runner per server process, beside the session: a refresh or a second tab sees the same pair."""
    return ABRunner()


def render_control_bar(session: TrainingSession, status: str, config, errors: dict[str, str],
                       points: bool = False) -> None:
    """Start, Pause, Resume, Step (n), Stop (and for 2D runs D step, G step), each enabled only when it makes sense."""
    columns = st.columns([1, 1, 1, 1, 1, 1.2, 1, 1, 2], vertical_alignment="bottom")
    can_start = status not in ACTIVE and config is not None
    if can_start:
        try:  # load the data while the user reads the page, so Start begins training at once
            warm_engine(config)
        except (ValueError, FileNotFoundError, OSError) as error:
            st.session_state["action_error"] = f"data.name={config.data.name}: {error}"
            can_start = False
    columns[0].button("Start", key="btn.start", disabled=not can_start, type="primary",
                      on_click=_call, args=(_start, session, config))
    columns[1].button("Pause", key="btn.pause", disabled=status != "running", on_click=_call,
                      args=(_and_wait, session, session.pause, ("paused", "failed", "finished")))
    columns[2].button("Resume", key="btn.resume", disabled=status != "paused", on_click=_call,
                      args=(_and_wait, session, session.resume, ("running", "failed", "finished")))
    columns[5].number_input("Steps per Step", min_value=1, max_value=10000, value=1, key="btn.step_n",
                            help=STEP_COUNT_HELP, disabled=status != "paused")
    columns[3].button("Step", key="btn.step", disabled=status != "paused", on_click=_call,
                      args=(_step_and_wait, session))
    columns[4].button("Stop", key="btn.stop", disabled=status not in ("running", "paused"),
                      on_click=_call, args=(_and_wait, session, session.stop, ("finished", "failed")))
    if points:
        # GAN Lab's finer stepping: one network moves, the other stands still (a paused run only).
        columns[6].button("D step", key="btn.step_d", disabled=status != "paused", on_click=_call,
                          args=(_step_and_wait, session, "discriminator"),
                          help="One step that updates only D: watch its surface move while the fakes stay.")
        columns[7].button("G step", key="btn.step_g", disabled=status != "paused", on_click=_call,
                          args=(_step_and_wait, session, "generator"),
                          help="One step that updates only G: watch the fakes follow the arrows.")
    if errors and status not in ACTIVE:
        columns[8].warning(errors_banner(errors))
    message = st.session_state.pop("action_error", None)
    if message:
        st.error(message)


def errors_banner(errors: dict[str, str]) -> str:
    """The control bar's line naming every setting that keeps Start off."""
    names = ", ".join(f"**{field_label(field)}**" for field in errors)
    return f"Fix {'this setting' if len(errors) == 1 else f'these {len(errors)} settings'} to start: {names}."


def _start(session: TrainingSession, config) -> None:
    """Start a run on the data set this page already loaded."""
    session.start(config, dataset=cached_dataset(config.data))
    intro_done()
    # The page that follows then shows the first step's point instead of an empty chart.
    session.wait_for(lambda s: s.status != "running" or s.snapshot(since=(-1, 0)).step >= 1, 1.0)


def _call(method, *args) -> None:
    """Run a session method from a button; keep its error message for the page instead of a traceback."""
    try:
        method(*args)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        st.session_state["action_error"] = str(error)


def _and_wait(session: TrainingSession, method, statuses: tuple[str, ...]) -> None:
    """Call a control method, then wait up to 5 s for the thread to confirm (one step at most)."""
    method()
    session.wait_for(lambda s: s.status in statuses, 5.0)


def _step_and_wait(session: TrainingSession, update: str = "both") -> None:
    """Ask for n steps (the number beside Step, read at click time) and wait up to 2 s for them."""
    session.step(int(st.session_state.get("btn.step_n", 1)), update)
    session.wait_for(lambda s: s.snapshot().steps_pending == 0 or s.status != "paused", 2.0)


def _phase(snapshot) -> tuple[str, bool]:
    """What decides the page's controls and refresh timer: status, and whether steps are pending."""
    return snapshot.status, snapshot.steps_pending > 0


def render_apply(session: TrainingSession, config, snapshot) -> None:
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
    cursor = {"since": session.snapshot().cursor}  # later looks copy only the rows since

    def applied(s: TrainingSession) -> bool:
        snapshot = s.snapshot(since=cursor["since"])
        cursor["since"] = snapshot.cursor
        return snapshot.config is None or all(live_values(snapshot.config).get(k) == v for k, v in changes.items())

    session.wait_for(applied, 5.0)


def render_status_fragment(session: TrainingSession, page_phase: tuple[str, bool]) -> None:
    """The status line in every view; when the run changes phase by itself, the whole page redraws."""
    snapshot = live.current_snapshot(session, "status")
    render_status(snapshot)
    _rerun_on_phase_change(snapshot, page_phase)


def _rerun_on_phase_change(snapshot, page_phase: tuple[str, bool]) -> None:
    if _phase(snapshot) != page_phase and st.session_state.get("live_reruns", 0) < 3:
        # The run paused, diverged, ended or finished its steps by itself: redraw the controls
        # and switch the timers. The counter stops a loop if the phase flips during reruns.
        st.session_state["live_reruns"] = st.session_state.get("live_reruns", 0) + 1
        st.rerun()
    st.session_state["live_reruns"] = 0


main()
