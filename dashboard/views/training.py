"""The Training view of an image run: the live charts and images (each fetching only what is new from the live
feed), the metrics download, and the explainer of the seed post's point (the non-saturating loss)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.live import components
from dashboard.live.spec import training_charts
from dashboard.resources import objectives_figure
from dashboard.ui import charts
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.files import MAX_METRICS_BYTES, UnreadableFile, read_bytes
from gan_core.runs.paths import RunPaths


def render_live(busy: bool, at: tuple) -> None:
    """Charts on the left, images on the right, each fetching only what is new (while busy, at the live pace
    the user picks in the charts' toolbar: every 2 s unless changed; else whenever the page is redrawn after
    the run moved, `at`)."""
    charts_column, right_column = st.columns([0.85, 1.15], gap="medium")
    with charts_column:
        components.charts("charts", busy, training_charts(), key="live.charts", at=at)
    with right_column:
        components.images("images", busy, key="live.images", at=at)


def render_extras(session: TrainingSession, snapshot: Snapshot, chosen_loss: str | None = None) -> None:
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
