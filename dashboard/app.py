"""GAN Workbench: train, watch and explore a GAN in the browser. Page layout only; the engine does the work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

# Before torch loads: OpenMP threads that spin while waiting stall the training thread
# whenever the browser takes a core; passive waiting measured ~10x faster with a live page.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.explorer import render_explorer  # noqa: E402
from dashboard.panels import render_checkpoints, render_live, sync_rows  # noqa: E402
from dashboard.runs_page import render_runs  # noqa: E402
from dashboard.sidebar import live_changes, render_sidebar  # noqa: E402
from gan_core.session import ACTIVE, TrainingSession  # noqa: E402

LIVE_REFRESH_S = 1.0


def main() -> None:
    """The whole page: sidebar config, control bar, live view, explorer, checkpoints."""
    st.set_page_config(page_title="GAN Workbench", layout="wide")
    session = get_session()
    snapshot = session.snapshot()
    active = snapshot.status in ACTIVE
    config, errors, _ = render_sidebar(active)
    st.title("GAN Workbench")
    render_control_bar(session, snapshot.status, config, errors)
    render_apply(session, config, snapshot)
    train_tab, explore_tab, checkpoints_tab, runs_tab = st.tabs(
        ["Training", "Latent explorer", "Checkpoints & runs", "Runs"])
    with train_tab:
        # Refresh about once a second while running; not at all while idle, paused or finished.
        busy = snapshot.status in ("running", "stopping") or snapshot.steps_pending > 0
        st.fragment(run_every=LIVE_REFRESH_S if busy else None)(render_live_fragment)(session, _phase(snapshot))
    with explore_tab:
        render_explorer(session, snapshot)
    with checkpoints_tab:
        render_checkpoints(session, snapshot)
    with runs_tab:
        render_runs(session.runs_root)


@st.cache_resource
def get_session() -> TrainingSession:
    """One TrainingSession per server process: a refresh or a second tab sees the same run."""
    return TrainingSession(runs_root=os.environ.get("GAN_WORKBENCH_RUNS", "runs"))


def render_control_bar(session: TrainingSession, status: str, config, errors: dict[str, str]) -> None:
    """Start, Pause, Resume, Step (n), Stop, each enabled only when it makes sense."""
    columns = st.columns([1, 1, 1, 1, 1, 1.2, 3])
    can_start = status not in ACTIVE and config is not None
    columns[0].button("Start", key="btn.start", disabled=not can_start, type="primary",
                      on_click=_call, args=(session.start, config))
    columns[1].button("Pause", key="btn.pause", disabled=status != "running", on_click=_call,
                      args=(_and_wait, session, session.pause, ("paused", "failed", "finished")))
    columns[2].button("Resume", key="btn.resume", disabled=status != "paused", on_click=_call,
                      args=(_and_wait, session, session.resume, ("running", "failed", "finished")))
    columns[5].number_input("steps", min_value=1, max_value=10000, value=1, key="btn.step_n",
                            label_visibility="collapsed", disabled=status != "paused")
    columns[3].button("Step", key="btn.step", disabled=status != "paused", on_click=_call,
                      args=(_step_and_wait, session))
    columns[4].button("Stop", key="btn.stop", disabled=status not in ("running", "paused"),
                      on_click=_call, args=(_and_wait, session, session.stop, ("finished", "failed")))
    if errors and status not in ACTIVE:
        columns[6].warning("Fix the highlighted settings in the sidebar to start.")
    message = st.session_state.pop("action_error", None)
    if message:
        st.error(message)


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


def _step_and_wait(session: TrainingSession) -> None:
    """Ask for n steps (the number beside Step, read at click time) and wait up to 2 s for them."""
    session.step(int(st.session_state.get("btn.step_n", 1)))
    session.wait_for(lambda s: s.snapshot().steps_pending == 0 or s.status != "paused", 2.0)


def _phase(snapshot) -> tuple[str, bool]:
    """What decides the page's controls and refresh timer: status, and whether steps are pending."""
    return snapshot.status, snapshot.steps_pending > 0


def render_apply(session: TrainingSession, config, snapshot) -> None:
    """During a run, an Apply button sends changed live fields (learning rates, betas, loss...) to the session."""
    if snapshot.status not in ("running", "paused"):
        return
    changes = live_changes(config, snapshot.config)
    if changes:
        label = ", ".join(f"{name}={value}" for name, value in changes.items())
        st.button(f"Apply {label}", key="btn.apply", on_click=_call,
                  args=(lambda: session.update(**changes),))


def render_live_fragment(session: TrainingSession, page_phase: tuple[str, bool]) -> None:
    """The live part: status line, charts and samples from snapshot(since=cursor)."""
    snapshot = sync_rows(session)
    render_live(snapshot)
    if _phase(snapshot) != page_phase and st.session_state.get("live_reruns", 0) < 3:
        # The run paused, diverged, ended or finished its steps by itself: redraw the controls
        # and switch the timer. The counter stops a loop if the phase flips during reruns.
        st.session_state["live_reruns"] = st.session_state.get("live_reruns", 0) + 1
        st.rerun()
    st.session_state["live_reruns"] = 0


main()
