"""The runs tab: list run directories, follow one read-only as it grows, compare several."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import charts
from gan_core.metrics import read_metrics
from dashboard.text import plain
from gan_core.runs import RunPaths, RunSummary, config_differences, list_runs, read_events, sample_grids

FOLLOW_REFRESH_S = 2.0
COMPARE_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake")


def render_runs(default_root: Path) -> None:
    """Folder picker, runs table, and the view of the chosen runs (live ones refresh every 2 s)."""
    folder = Path(st.text_input("Runs folder", str(default_root), key="runs.folder"))
    runs = list_runs(folder)
    if not runs:
        st.info(f"No run directories under {plain(folder)}. Train from this page, the CLI "
                "(python -m gan_core train), or torchrun into this folder.")
        return
    st.dataframe(runs_table(runs), hide_index=True, key="runs.table")
    names = [run.path.name for run in runs if run.status != "unreadable"]
    chosen = st.multiselect("Open runs (one to follow, several to compare)", names, key="runs.chosen")
    if not chosen:
        return
    live = any(run.status == "live" for run in runs if run.path.name in chosen)
    st.fragment(run_every=FOLLOW_REFRESH_S if live else None)(render_chosen)(folder, tuple(chosen), live)


def runs_table(runs: list[RunSummary]) -> pd.DataFrame:
    """One row per run: name, status, steps, and the config fields people compare first."""
    return pd.DataFrame([{
        "run": run.path.name, "status": run.status if run.status != "unreadable" else f"unreadable: {run.reason}",
        "steps": run.steps,
        "architecture": run.config.get("model", {}).get("architecture"),
        "loss": run.config.get("loss", {}).get("loss"),
        "lr_g": run.config.get("optimizer", {}).get("lr_g"),
        "batch": run.config.get("training", {}).get("batch_size"),
        "data": run.config.get("data", {}).get("name"),
    } for run in runs])


def render_chosen(folder: Path, chosen: tuple[str, ...], was_live: bool) -> None:
    """Re-read the chosen runs from disk (read-only) and draw them; stop refreshing once none is live."""
    summaries = {run.path.name: run for run in list_runs(folder) if run.path.name in chosen}
    frames = {}
    for name in chosen:
        if name in summaries:
            try:
                frames[name] = read_metrics(RunPaths(summaries[name].path).metrics)
            except ValueError as error:  # not a regular file, or too large: say so, keep the page
                st.warning(f"{plain(name)}: metrics.csv cannot be read: {plain(error)}")
    if not frames:
        return
    if len(frames) == 1:
        (name, frame), = frames.items()
        render_single(summaries[name], frame)
    else:
        render_comparison(summaries, frames)
    if was_live and not any(s.status == "live" for s in summaries.values()):
        st.rerun()  # a followed run ended: redraw as finished and switch the timer off


def render_single(run: RunSummary, frame: pd.DataFrame) -> None:
    """One run: status, curves, samples timeline, and a button to explore its checkpoint."""
    st.markdown(f"**{plain(run.path.name)}** · status **{run.status}** · steps **{run.steps}**")
    if run.owner:
        st.caption(f"Written by {plain(run.owner)}.")
    try:
        events = read_events(RunPaths(run.path).events)
    except ValueError as error:
        st.warning(f"events.jsonl cannot be read: {plain(error)}")
        events = []
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.loss_figure(frame, events), key="runs.loss")
    left.plotly_chart(charts.scores_figure(frame, events), key="runs.scores")
    grids = dict(sample_grids(RunPaths(run.path)))
    if grids:
        steps = list(grids)
        chosen = right.select_slider("Saved grids", options=steps, value=steps[-1], key="runs.timeline") \
            if len(steps) > 1 else steps[0]
        right.image(grids[chosen].read_bytes(), caption=f"step {chosen}", output_format="PNG")
    latest = RunPaths(run.path).latest
    if latest.exists():
        right.button("Open in latent explorer", key="runs.explore", on_click=_explore, args=(str(latest),))


def _explore(checkpoint: str) -> None:
    """Point the latent explorer at a checkpoint file (it loads with weights_only=True)."""
    st.session_state["explore.source"] = "Checkpoint file"
    st.session_state["explore.path"] = checkpoint


def render_comparison(summaries: dict[str, RunSummary], frames: dict[str, pd.DataFrame]) -> None:
    """Several runs: overlaid curves and the config fields that differ."""
    differences = config_differences({name: summaries[name].config for name in frames})
    if differences:
        st.markdown("**Config fields that differ**")
        st.dataframe(pd.DataFrame([{"field": field, **values} for field, values in differences.items()]),
                     hide_index=True, key="runs.differences")
    else:
        st.caption("These runs have identical configs.")
    smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="runs.smoothing")
    columns = st.columns(2)
    for index, column in enumerate(COMPARE_COLUMNS):
        columns[index % 2].plotly_chart(charts.overlay_figure(frames, column, smoothing), key=f"runs.overlay.{column}")
