"""Page panels: live status/charts/samples, the non-saturating explainer, checkpoints and runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import charts
from gan_core.config import DataConfig
from gan_core.data import load_dataset
from gan_core.latent import image_grid
from gan_core.metrics import read_metrics
from gan_core.runs import RunPaths, list_checkpoints, list_runs
from gan_core.session import ACTIVE, Snapshot, TrainingSession


def sync_rows(session: TrainingSession) -> Snapshot:
    """Copy only the rows added since this tab's cursor into its session_state; returns the snapshot."""
    state = st.session_state
    snapshot = session.snapshot(since=state.get("cursor", 0))
    if snapshot.reset or "rows" not in state or state.get("rows_run") != snapshot.run_dir:
        state["rows"], state["rows_run"] = [], snapshot.run_dir
    state["rows"].extend(snapshot.rows)
    state["cursor"] = snapshot.cursor
    return snapshot


def metrics_frame(snapshot: Snapshot) -> pd.DataFrame:
    """This tab's accumulated rows as a DataFrame with the metric column names."""
    return pd.DataFrame(st.session_state.get("rows", []), columns=list(snapshot.columns))


def render_status(snapshot: Snapshot) -> None:
    """One status line: state, step, epoch, images/s, elapsed, run directory."""
    elapsed = time.strftime("%H:%M:%S", time.gmtime(snapshot.elapsed_s))
    st.markdown(
        f"Status **{snapshot.status}** · step **{snapshot.step}** · "
        f"epoch {snapshot.epoch} · {snapshot.images_per_s:,.0f} images/s · elapsed {elapsed} · "
        f"run dir `{snapshot.run_dir or '-'}`")
    if snapshot.status == "failed":
        st.error(f"Training failed: {snapshot.error}. The run directory keeps its metrics and its last "
                 "checkpoint: resume it from the Checkpoints & runs tab, or change the settings and Start again.")
    if snapshot.diverged:
        last = snapshot.last_checkpoint_step
        st.warning(f"Non-finite loss at step {snapshot.step}: the run is paused and its last good checkpoint "
                   f"({'step ' + str(last) if last >= 0 else 'the initial weights'}) is kept. Lower the "
                   "learning rates in the sidebar and press Apply, then Resume: training restarts from it.")


def render_live(snapshot: Snapshot) -> None:
    """Status, charts, the live grid beside real images, the saved-grid timeline, the loss explainer."""
    render_status(snapshot)
    frame = metrics_frame(snapshot)
    if not frame.empty:
        st.session_state["last_d_fake"] = float(frame["d_fake"].iloc[-1])
    events = snapshot.events
    left, right = st.columns([3, 2])
    with left:
        smoothing = st.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="smoothing")
        st.plotly_chart(charts.loss_figure(frame, events, smoothing), key="chart.loss")
        st.plotly_chart(charts.scores_figure(frame, events, smoothing), key="chart.scores")
        st.plotly_chart(charts.grad_norm_figure(frame, events, smoothing), key="chart.grads")
        render_quality(snapshot)
        if not frame.empty:
            st.download_button("Download metrics CSV", frame.to_csv(index=False).encode(), "metrics.csv",
                               "text/csv", key="download.metrics")
    with right:
        render_samples(snapshot)
        render_why_non_saturating(st.session_state.get("last_d_fake"),
                                  snapshot.config.loss.loss if snapshot.config else None)


def render_quality(snapshot: Snapshot) -> None:
    """Health banners, and the quality curves when live evaluation has written quality.csv."""
    latest: dict[str, dict] = {}
    for event in snapshot.events:
        if event.get("kind") == "health":
            latest[event["rule"]] = event
        elif event.get("kind") == "quality_unavailable":
            st.info(f"Quality metrics unavailable: {event.get('message')}")
    for event in latest.values():
        st.warning(f"Step {event['step']}: {event['rule'].replace('_', ' ')}: {event['message']}. {event['hint']}.")
    if not snapshot.run_dir:
        return
    root = Path(snapshot.run_dir)
    quality = read_metrics(root / "quality.csv")
    if quality.empty:
        return
    reference_path = root / "quality_reference.json"
    reference = json.loads(reference_path.read_text()) if reference_path.exists() else None
    st.plotly_chart(charts.quality_figure(quality, reference, snapshot.events), key="chart.quality")


def render_samples(snapshot: Snapshot) -> None:
    """The fixed-noise grid (live) beside real images, and a slider through the saved grids."""
    generated, real = st.columns(2)
    if snapshot.grid is not None:
        generated.image(snapshot.grid, caption=f"fixed noise, step {snapshot.grid_step}", width="stretch")
    else:
        generated.info("Samples appear once training starts.")
    if snapshot.config is not None:
        real.image(real_grid(snapshot.config.data), caption="real images", width="stretch")
    if snapshot.run_dir:
        grids = sorted(RunPaths(Path(snapshot.run_dir)).samples.glob("step_*.png"))
        if len(grids) >= 2:
            steps = [int(p.stem.split("_")[1]) for p in grids]
            chosen = st.select_slider("Saved grids: the same noise over time", options=steps,
                                      value=steps[-1], key="timeline")
            st.image(str(grids[steps.index(chosen)]), caption=f"step {chosen}", width="stretch")


@st.cache_data(max_entries=8, show_spinner=False)
def real_grid(data_config: DataConfig, count: int = 64):
    """A grid of real images spread over the data set, for comparison with the samples."""
    dataset = load_dataset(data_config)
    stride = max(1, len(dataset) // count)
    return image_grid(dataset.images[::stride][:count])


def render_why_non_saturating(d_fake: float | None, loss: str | None) -> None:
    """The seed post's point: log(1 - D(G(z))) is flat where training starts; -log D(G(z)) is not."""
    with st.expander("Why the non-saturating loss?", expanded=loss == "minimax"):
        st.plotly_chart(charts.objectives_figure(charts.objective_curves(), d_fake), key="chart.objectives")
        if d_fake is None:
            st.caption("Start a run to see where the current batch's mean D(G(z)) sits on both curves.")
            return
        gradients = charts.objective_gradients(d_fake)
        a, b = st.columns(2)
        a.metric("minimax: |gradient| w.r.t. D's logit", f"{gradients['minimax_wrt_logit']:.3f}")
        b.metric("non-saturating: |gradient| w.r.t. D's logit", f"{gradients['non_saturating_wrt_logit']:.3f}")
        st.caption(f"At D(G(z)) = {d_fake:.3f}: the generator's gradient through D's logit is D(G(z)) for "
                   "log(1 - D(G(z))) but 1 - D(G(z)) for -log D(G(z)). Early in training D rejects fakes "
                   "(D(G(z)) near 0), so the minimax objective gives G almost no gradient; that is why the "
                   f"seed post trains G with -log D(G(z)). Current loss: {loss}.")


def render_checkpoints(session: TrainingSession, snapshot: Snapshot) -> None:
    """Save a checkpoint now, list this run's checkpoints, resume a past run."""
    active = snapshot.status in ACTIVE
    st.button("Save checkpoint now", key="btn.save_checkpoint", disabled=snapshot.status not in ("running", "paused"),
              on_click=session.save_checkpoint)
    if snapshot.run_dir:
        files = list_checkpoints(RunPaths(Path(snapshot.run_dir)))
        if files:
            st.dataframe(pd.DataFrame([{"file": p.name, "step": int(p.stem.split("_")[1]),
                                        "size_kb": round(p.stat().st_size / 1024),
                                        "written": time.strftime("%H:%M:%S", time.localtime(p.stat().st_mtime))}
                                       for p in files]), hide_index=True, key="table.checkpoints")
        else:
            st.caption("No checkpoint yet in this run.")
    st.subheader("Resume a past run")
    runs = list_runs(session.runs_root)
    if not runs:
        st.caption(f"No runs under {session.runs_root} yet.")
        return
    labels = {f"{r.path.name} · {r.steps} steps · {r.status}": r.path for r in runs}
    chosen = st.selectbox("Run directory", list(labels), key="resume.run")
    config_text = RunPaths(labels[chosen]).config.read_text(encoding="utf-8")
    with st.expander("config.json"):
        st.json(json.loads(config_text))
    if st.button("Resume this run", key="btn.resume_run", disabled=active):
        try:
            session.resume_run(labels[chosen])
            st.rerun()
        except (ValueError, RuntimeError) as error:
            st.error(str(error))
