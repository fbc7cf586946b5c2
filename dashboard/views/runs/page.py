"""The Runs view: every run directory, this run's checkpoints, open one or compare several, resume one.

The table and the charts are drawn with the page; what changes while runs train (this run's checkpoints, the
opened runs' lines, which runs are live and their steps) is a status component fed by the live feed
(live/runs_messages.py), and the page redraws when a run goes live or ends (its phase)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.live import components, feed
from dashboard.live.runs_messages import run_labels, runs_message
from dashboard.ui import charts
from dashboard.ui.text import plain
from dashboard.views.runs import actions
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.runs.admin import RunMeta, read_meta, run_config_timeline, timeline_differences
from gan_core.runs.listing import RunSummary, list_runs
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events, sample_grids

WATCH_KEY = "runs.watch"  # this tab's random token: the live feed's name for its runs folder and opened runs
METRICS = {  # overlay choices: metrics.csv columns, then quality.csv columns
    "d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x) on real images", "d_fake": "D(G(z)) on fakes",
    "grad_norm_d": "gradient norm of D", "grad_norm_g": "gradient norm of G", "lr_d": "learning rate D",
    "lr_g": "learning rate G", "images_per_s": "images per second",
    "fid": "FID (quality, lower is better)", "precision": "precision (quality)", "recall": "recall (quality)",
    "classes_covered": "classes covered (quality)",
    "modes_covered": "2D toys: modes covered (quality)", "high_quality_share": "2D toys: share near a mode (quality)",
    "js": "2D toys: JS divergence (quality)", "kl": "2D toys: KL divergence (quality)",
    "overfit_r": "r_t = E[sign D(x)] (overfitting)", "augment_p": "augmentation p", "d_fake_std": "spread of D(G(z))",
}
QUALITY_METRICS = ("fid", "precision", "recall", "classes_covered")
TOY_QUALITY_METRICS = ("modes_covered", "high_quality_share", "js", "kl")
FROM_QUALITY = QUALITY_METRICS + TOY_QUALITY_METRICS  # overlay columns read from quality.csv
DEFAULT_METRICS = ("d_loss", "g_loss", "d_real", "d_fake")
CHOSEN_KEPT_KEY = "runs.chosen.kept"


@dataclass(frozen=True)
class OpenRun:
    """One chosen run as read from disk (read-only) for drawing."""

    summary: RunSummary
    label: str
    metrics: pd.DataFrame
    quality: pd.DataFrame
    events: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


def render_runs(session: TrainingSession, snapshot: Snapshot) -> None:
    """This run, the runs table, the live status, the chosen runs (inspect, manage, compare), resume."""
    with st.container():  # always there: the positions below never shift when a run starts
        if snapshot.run_dir:
            actions.render_current_run(session, snapshot)
    st.subheader("All runs")
    folder = Path(st.text_input("Runs folder", str(session.runs_root), key="runs.folder",
                                help="The folder whose run directories are listed: this page's, the CLI's "
                                     "(--runs-root) or a shared folder torchrun writes to."))
    runs = list_runs(folder)
    metas = {run.path.name: read_meta(run.path) for run in runs}
    labels = run_labels(runs, metas)
    if runs:
        st.dataframe(runs_table(runs, metas), hide_index=True, key="runs.table")
    else:
        st.info(f"No run directories under {plain(folder)}. Train from this page, the CLI "
                "(python -m gan_core train), or torchrun into this folder.")
    names = [run.path.name for run in runs if run.status != "unreadable"]
    chosen: list[str] = []
    if runs:
        _restore_choices(names)
        chosen = st.multiselect("Open runs (one to inspect and manage, several to compare)", names,
                                format_func=lambda name: labels.get(name, name), key="runs.chosen",
                                help="Each run keeps its colour in every comparison chart.")
        st.session_state[CHOSEN_KEPT_KEY] = chosen  # Streamlit forgets a widget's state while its view is hidden
    render_live_status(snapshot, folder, runs, labels, tuple(chosen))
    if not runs:
        return
    actions.render_message()
    by_name = {run.path.name: run for run in runs}
    if len(chosen) == 1:  # what can be done with it, then its charts
        actions.render_manage(session.runs_root, by_name[chosen[0]], metas[chosen[0]], snapshot.run_dir)
    if chosen:
        render_chosen(runs, labels, tuple(chosen), snapshot)
    actions.render_resume(session, snapshot, runs, labels)


def render_live_status(snapshot: Snapshot, folder: Path, runs: list[RunSummary], labels: dict[str, str],
                       opened: tuple[str, ...]) -> None:
    """The status component: this run's checkpoints, the opened runs' lines, the live runs; fetched from the
    live feed while a run is live (the feed knows this tab's folder and opened runs by its token only)."""
    token = st.session_state.setdefault(WATCH_KEY, secrets.token_urlsafe(16))
    feed.watch(token, folder, opened)
    message = runs_message(runs, labels, opened, snapshot)
    busy = snapshot.status in ("running", "stopping") or bool(message["phase"])
    components.status("runs", message, message["phase"], busy, key="runs.status", state={"watch": token})


def _restore_choices(names: list[str]) -> None:
    """Before the multiselect is drawn: the runs chosen before another view was shown, less those that
    are gone (deleted here or elsewhere)."""
    chosen = st.session_state.get("runs.chosen", st.session_state.get(CHOSEN_KEPT_KEY))
    if chosen is not None and (any(name not in names for name in chosen) or "runs.chosen" not in st.session_state):
        st.session_state["runs.chosen"] = [name for name in chosen if name in names]


def runs_table(runs: list[RunSummary], metas: dict[str, RunMeta]) -> pd.DataFrame:
    """One row per run: its name and tags, status, steps, and the config fields people compare first."""
    labels = run_labels(runs, metas)
    return pd.DataFrame([{
        "name": labels[run.path.name], "tags": ", ".join(metas[run.path.name].tags),
        "status": run.status if run.status != "unreadable" else f"unreadable: {run.reason}",
        "steps": run.steps,
        "architecture": run.config.get("model", {}).get("architecture"),
        "loss": run.config.get("loss", {}).get("loss"),
        "lr_g": run.config.get("optimizer", {}).get("lr_g"),
        "batch": run.config.get("training", {}).get("batch_size"),
        "data": run.config.get("data", {}).get("name"),
        "run": run.path.name,
    } for run in runs], columns=["name", "tags", "status", "steps", "architecture", "loss", "lr_g", "batch",
                                 "data", "run"])


def load_run(summary: RunSummary, label: str) -> OpenRun | str:
    """A chosen run's metrics, quality rows, events and config timeline, or why it cannot be read."""
    paths = RunPaths(summary.path)
    try:
        metrics = read_metrics(paths.metrics)
        quality = read_metrics(paths.quality)
        events = read_events(paths.events)
        timeline = run_config_timeline(paths.root)
    except (ValueError, OSError) as error:  # not a regular file, too large: say so, keep the page
        return f"{label}: cannot be read: {error}"
    return OpenRun(summary, label, metrics, quality, events, timeline)


def render_chosen(runs: list[RunSummary], labels: dict[str, str], chosen: tuple[str, ...],
                  snapshot: Snapshot | None = None) -> None:
    """Read the chosen runs from disk (read-only) and draw them; drawn again when a run ends (the live status's
    phase) or the user acts; one run's saved grids follow it as it trains (from the live feed)."""
    opened = []
    for run in runs:
        if run.path.name in chosen and run.status != "unreadable":
            loaded = load_run(run, labels[run.path.name])
            if isinstance(loaded, str):
                st.warning(plain(loaded))
            else:
                opened.append(loaded)
    opened.sort(key=lambda run: chosen.index(run.summary.path.name))  # the user's order fixes the colours
    if len(opened) == 1:
        render_single(opened[0], _trains_now(opened[0].summary, snapshot))
    elif opened:
        render_comparison(opened)


def _trains_now(summary: RunSummary, snapshot: Snapshot | None) -> bool:
    """Whether a run is being trained now: by this page's session, or by another process (live)."""
    if snapshot is not None and snapshot.run_dir == str(summary.path):
        return snapshot.status in ("running", "stopping") or snapshot.steps_pending > 0
    return summary.status == "live"


def render_single(run: OpenRun, live: bool = False) -> None:
    """One run: curves, quality, saved grids (following the newest while the run is `live`, from the live feed),
    and its settings over time."""
    summary = run.summary
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.loss_figure(run.metrics, run.events), key="runs.loss")
    left.plotly_chart(charts.scores_figure(run.metrics, run.events), key="runs.scores")
    if has_quality(run.quality):
        left.plotly_chart(charts.quality_figure(run.quality, None, run.events), key="runs.quality")
    elif "js" in run.quality and not run.quality.empty:  # a 2D toy run: modes and divergence over steps
        for column in ("modes_covered", "js"):
            figure = charts.overlay_figure({run.label: run.quality}, column, title=METRICS[column])
            if figure.data:
                left.plotly_chart(figure, key=f"runs.toy.{column}")
    if sample_grids(RunPaths(summary.path)) or live:
        # The timeline of saved grids, drawn sharp at a whole scale that fits the column; it fetches only the
        # steps it lacks, and follows the newest grid while the run trains unless the user moves the slider.
        token = st.session_state.get(WATCH_KEY, "")
        with right:
            components.saved_grids("runs_grids", live, key="runs.grids", pin="runs_pin",
                                   state={"watch": token, "open": summary.path.name}, at=summary.steps)
    render_timeline(run)


def has_quality(frame: pd.DataFrame) -> bool:
    """Whether a run's quality.csv has rows with the columns the quality charts draw."""
    return not frame.empty and {"step", *QUALITY_METRICS} <= set(frame.columns)


def render_timeline(run: OpenRun) -> None:
    """The effective config over time: the start config (step 0) and each live change with its step."""
    changes = [row for row in run.timeline if row["change"]]
    title = (f"Settings over time: {len(changes)} live change{'s' if len(changes) != 1 else ''}" if changes
             else "Settings (no live changes during this run)")
    with st.expander(title, expanded=bool(changes)):
        only_changes = st.toggle("Only the changes made during the run", value=bool(changes),
                                 key="runs.timeline.changes")
        rows = changes if only_changes else run.timeline
        st.dataframe(timeline_frame(rows), hide_index=True, key="runs.timeline.table")


def timeline_frame(rows: list[dict[str, Any]], run: str | None = None) -> pd.DataFrame:
    """(step, field, value) rows as text (a column of mixed numbers, words and booleans stays one type)."""
    frame = pd.DataFrame([{**({"run": run} if run is not None else {}), "step": int(row["step"]),
                           "field": row["field"], "value": str(row["value"])} for row in rows],
                         columns=(["run"] if run is not None else []) + ["step", "field", "value"])
    return frame.astype({"step": "int64", "field": "string", "value": "string"})


def render_comparison(opened: list[OpenRun]) -> None:
    """Several runs: overlays of any metric (quality included) by step or wall time, one colour per run,
    the settings that differ (live changes included) and every change made during the runs."""
    labels = [run.label for run in opened]
    styles = charts.run_styles(labels)
    st.markdown("Comparing " + " · ".join(f"**{plain(label)}**" for label in labels))
    quality_known = any(has_quality(run.quality) for run in opened)
    toys_known = any("js" in run.quality for run in opened)
    controls = st.columns([3, 1.2, 1.5])
    default = ((["fid"] if quality_known else []) + (["modes_covered", "js"] if toys_known else [])
               + list(DEFAULT_METRICS))  # quality first: it is what counts
    metrics = controls[0].multiselect("Metrics", list(METRICS), default=default, key="runs.metrics",
                                      format_func=lambda name: name + (" (quality)" if name in FROM_QUALITY else ""),
                                      help="; ".join(f"{name}: {text}" for name, text in METRICS.items()))
    x = controls[1].radio("x axis", ["step", "wall_time"], horizontal=True, key="runs.x",
                          format_func=lambda name: "step" if name == "step" else "wall time")
    smoothing = controls[2].slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="runs.smoothing",
                                   help="Exponential moving average of each curve (quality points are not smoothed).")
    columns = st.columns(2)
    for index, column in enumerate(metrics):
        frames = {run.label: charts.with_elapsed(run.quality if column in FROM_QUALITY else run.metrics,
                                                 run.metrics) for run in opened}
        figure = charts.overlay_figure(frames, column, 0.0 if column in FROM_QUALITY else smoothing, x, styles)
        if not figure.data:
            columns[index % 2].caption(f"{column}: no run has this metric yet"
                                       + (" (live evaluation off?)" if column in FROM_QUALITY else ""))
            continue
        columns[index % 2].plotly_chart(figure, key=f"runs.overlay.{column}")
    render_differences(opened)


def render_differences(opened: list[OpenRun]) -> None:
    """The settings that differ between the runs (start values and live changes), as text."""
    differences = timeline_differences({run.label: run.timeline for run in opened})
    if differences:
        st.markdown("**Settings that differ** (a → shows a change made during the run, at its step)")
        frame = pd.DataFrame([{"field": field, **values} for field, values in differences.items()])
        st.dataframe(frame.astype("string"), hide_index=True, key="runs.differences")
    else:
        st.caption("These runs have identical settings, live changes included.")
    changes = pd.concat([timeline_frame([row for row in run.timeline if row["change"]], run.label)
                         for run in opened], ignore_index=True)
    if not changes.empty:
        st.markdown("**Changes made during the runs**")
        st.dataframe(changes.astype({"run": "string"}), hide_index=True, key="runs.changes")
