"""Page panels: live status, charts and samples, downloads, and the non-saturating explainer."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from dashboard import charts, live
from dashboard.text import plain
from gan_core.config.schema import DataConfig, RunConfig
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.control.warmup import warm_up
from gan_core.data.datasets import load_dataset
from gan_core.files import MAX_METRICS_BYTES, UnreadableFile, read_bytes
from gan_core.runs.paths import RunPaths
from gan_core.views.latent import image_grid


def format_duration(seconds: float) -> str:
    """H:MM:SS of wall time."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def status_fields(snapshot: Snapshot) -> tuple[str, int, list[str], str | None]:
    """(state, step, our parts, what the thread is busy with): epoch, steps/s and images/s over the last
    ~10 s of wall time, elapsed wall time (and the time inside steps when it differs)."""
    parts = [f"epoch {snapshot.epoch}"]
    if snapshot.steps_per_s is not None:
        parts.append(f"{snapshot.steps_per_s:,.1f} steps/s · {snapshot.images_per_s:,.0f} images/s")
    elif snapshot.status == "running":
        parts.append("measuring speed")
    if snapshot.config is not None:
        elapsed = f"elapsed {format_duration(snapshot.elapsed_s)}"
        if snapshot.elapsed_s > 0 and abs(snapshot.train_s - snapshot.elapsed_s) > max(2.0, 0.1 * snapshot.elapsed_s):
            elapsed += f" (in steps {format_duration(snapshot.train_s)})"
        parts.append(elapsed)
    busy = snapshot.activity if snapshot.activity and snapshot.status in ("running", "stopping") else None
    return snapshot.status, snapshot.step, parts, busy


def status_line(snapshot: Snapshot) -> str:
    """The status line as safe markdown: state and step in bold; what the thread is busy with escaped."""
    status, step, parts, busy = status_fields(snapshot)
    busy_part = [f"busy: {plain(busy)}"] if busy else []
    return " · ".join([f"Status **{status}**", f"step **{step}**", *parts, *busy_part])


def render_status(snapshot: Snapshot) -> None:
    """The status line, the run directory as plain text, and failure/divergence banners."""
    st.markdown(status_line(snapshot))
    if snapshot.run_dir:
        st.caption(f"run directory: {plain(snapshot.run_dir)}")
    render_banners(snapshot)


def render_banners(snapshot: Snapshot) -> None:
    """Why a run failed or paused itself, and what to do: drawn with the page (they change its phase)."""
    if snapshot.status == "failed":
        st.error(f"Training failed: {plain(snapshot.error)}. The run directory keeps its metrics and its last "
                 "checkpoint: resume it from the Runs view, or change the settings and Start again.")
    if snapshot.diverged:
        last = snapshot.last_checkpoint_step
        st.warning(f"Non-finite loss at step {snapshot.step}: the run is paused and its last good checkpoint "
                   f"({'step ' + str(last) if last >= 0 else 'the initial weights'}) is kept. Lower the "
                   "learning rates in the sidebar and press Apply, then Resume: training restarts from it.")


def render_live(session: TrainingSession, render_right=None) -> Snapshot:
    """The live part, refreshed by its fragment: status, charts, and on the right the images (or what
    render_right(snapshot) draws: the 2D playground), each sent only what is new."""
    snapshot = live.take_snapshot(session)
    render_status(snapshot)
    charts_column, right_column = st.columns([0.85, 1.15], gap="medium")
    with charts_column:
        live.render_charts(snapshot)
        render_health(snapshot)
    with right_column:
        if render_right is None:
            live.render_images(snapshot, real_png)
        else:
            render_right(snapshot)
    return snapshot


def health_lines(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(level, plain text) under the charts: why quality cannot be measured, the latest warning of each
    health rule, and the latest evaluation in words. Levels: info, warning, caption."""
    lines: list[tuple[str, str]] = []
    latest: dict[str, dict] = {}
    for event in snapshot.events:
        if event.get("kind") == "health":
            latest[str(event.get("rule"))] = event
        elif event.get("kind") == "quality_unavailable":
            lines.append(("info", f"Quality metrics unavailable: {event.get('message')}"))
    for rule, event in latest.items():
        lines.append(("warning", f"Step {event.get('step')}: {rule.replace('_', ' ')}: {event.get('message')}. "
                                 f"{event.get('hint')}."))
    if snapshot.quality:
        lines.append(("caption", quality_caption(snapshot.quality)))
    return lines


def render_health(snapshot: Snapshot) -> None:
    """health_lines as Streamlit elements; the texts come from files and the engine, so plain text."""
    for level, text in health_lines(snapshot):
        {"info": st.info, "warning": st.warning, "caption": st.caption}[level](plain(text, limit=1000))


def quality_caption(quality: tuple[dict, ...] | list[dict]) -> str:
    """The latest evaluation in words: FID and friends for images; modes and divergences for a 2D toy."""
    row = quality[-1]
    if "js" in row:
        modes = (f"{row['modes_covered']:.0f} of {row['modes_total']:.0f} modes covered, "
                 f"{row['high_quality_share']:.0%} of samples near a mode, "
                 if math.isfinite(row.get("modes_total", math.nan)) else "")
        return f"Latest quality at step {int(row.get('step', 0))}: {modes}KL {row['kl']:.2f}, JS {row['js']:.3f}"
    best = min(q.get("fid", float("inf")) for q in quality)
    return (f"Latest quality at step {int(row.get('step', 0))}: FID {row.get('fid', float('nan')):.2f} "
            f"(best {best:.2f}), precision {row.get('precision', float('nan')):.2f}, "
            f"recall {row.get('recall', float('nan')):.2f}, classes >= 2%: {int(row.get('classes_covered', 0))}")


def render_downloads(snapshot: Snapshot) -> None:
    """The metrics CSV, read from the run's metrics.csv only when the user clicks."""
    if not snapshot.run_dir:
        return
    path = RunPaths(Path(snapshot.run_dir)).metrics
    st.download_button("Download metrics CSV", lambda: _read_csv(path), "metrics.csv", "text/csv",
                       key="download.metrics", on_click="ignore")


def _read_csv(path: Path) -> bytes:
    try:
        return read_bytes(path, MAX_METRICS_BYTES)  # a regular file, never a link or FIFO
    except (OSError, UnreadableFile) as error:
        return f"error: {error}\n".encode()


@st.cache_data(max_entries=8, show_spinner=False)
def real_png(data_config: DataConfig) -> str:
    """The real-image grid as base64 PNG, made once per data set."""
    return live.png_base64(real_grid(data_config))


@st.cache_resource(max_entries=2, show_spinner="Loading the data set...")
def cached_dataset(data_config: DataConfig):
    """The data set loaded once per server for a data config (read-only), so Start takes no seconds to load it."""
    return load_dataset(data_config)


def warm_engine(config: RunConfig) -> None:
    """Load this config's data set (cached) and warm the engine up for it in the background (control/warmup.py):
    Start then begins at once. Data errors raise here, so the page can say why Start is off."""
    warm_up(config, cached_dataset(config.data))


@st.cache_data(max_entries=8, show_spinner=False)
def real_grid(data_config: DataConfig, count: int = 64):
    """A grid of real images spread over the data set, for comparison with the samples."""
    dataset = cached_dataset(data_config)
    stride = max(1, len(dataset) // count)
    return image_grid(dataset.images[::stride][:count])


@st.cache_data(max_entries=64, show_spinner=False)
def objectives_figure(d_fake: float | None):
    """The explainer's figure for a rounded D(G(z)); plotly builds its first figure slowly (~0.8 s)."""
    return charts.objectives_figure(charts.objective_curves(), d_fake)


def render_why_non_saturating(d_fake: float | None, loss: str | None) -> None:
    """The seed post's point: log(1 - D(G(z))) is flat where training starts; -log D(G(z)) is not."""
    # Built only while open: a closed expander's content would still be sent and drawn on every full rerun
    # (Start, Pause, each sidebar edit), and a Plotly chart is among the costliest elements to draw there
    # (docs/benchmarks.md, sixth pass). The key holds the open state; the minimax loss has a key of its own,
    # so choosing it (or running it) opens the explainer.
    minimax = loss == "minimax"
    box = st.expander("Why the non-saturating loss?", expanded=minimax, on_change="rerun",
                      key=f"why.open.{'minimax' if minimax else 'other'}")
    if not box.open:
        return
    with box:
        st.plotly_chart(objectives_figure(None if d_fake is None else round(d_fake, 3)), key="chart.objectives")
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
