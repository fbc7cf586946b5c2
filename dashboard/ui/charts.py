"""Plotly figure builders: pure functions of DataFrames (and event lists), testable without a browser."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.live.spec import EVENT_STYLES
from dashboard.ui.text import chart_text

MAX_POINTS = 2000


def smooth(series: pd.Series, smoothing: float) -> pd.Series:
    """Exponential moving average as TensorBoard's slider: 0 = raw, 0.99 = very smooth."""
    if smoothing <= 0:
        return series
    return series.ewm(alpha=1.0 - smoothing, adjust=True).mean()


def downsample(frame: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th row (and always the last) so at most about max_points rows are drawn."""
    if len(frame) <= max_points:
        return frame
    stride = int(np.ceil(len(frame) / max_points))
    keep = np.zeros(len(frame), dtype=bool)
    keep[::stride] = True
    keep[-1] = True
    return frame[keep]


def _line_figure(frame: pd.DataFrame, columns: dict[str, str], smoothing: float, title: str,
                 y_title: str, events: Iterable[dict[str, Any]], log_y: bool = False) -> go.Figure:
    figure = go.Figure()
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]
    if not frame.empty:
        smoothed = frame[["step"]].copy()
        for column in columns:
            smoothed[column] = smooth(frame[column].astype(float), smoothing)
        raw, smoothed = downsample(frame), downsample(smoothed)
        for (column, label), colour in zip(columns.items(), colours):
            if smoothing > 0:  # the raw curve, faint, behind the smoothed one
                figure.add_trace(go.Scatter(x=raw["step"], y=raw[column], mode="lines", opacity=0.2,
                                              line=dict(color=colour, width=1), showlegend=False,
                                              hoverinfo="skip", name=f"{label} (raw)"))
            figure.add_trace(go.Scatter(x=smoothed["step"], y=smoothed[column], mode="lines",
                                          line=dict(color=colour, width=2), name=label))
    _add_event_markers(figure, events)
    figure.update_layout(title=title, height=300, margin=dict(l=40, r=10, t=40, b=30),
                         xaxis_title="step", yaxis_title=y_title, legend=dict(orientation="h", y=-0.25),
                         uirevision="keep")  # keep the user's zoom across live refreshes
    if log_y:
        figure.update_yaxes(type="log")
    return figure


def _add_event_markers(figure: go.Figure, events: Iterable[dict[str, Any]]) -> None:
    """A dashed vertical line per marked event, with its label on hover."""
    shapes, xs, texts, colours = [], [], [], []
    for event in events:
        style = EVENT_STYLES.get(event.get("kind", ""))
        if style is None:
            continue
        colour, label = style
        step = event.get("step", 0)
        shapes.append(dict(type="line", xref="x", yref="paper", x0=step, x1=step, y0=0, y1=1,
                           line=dict(color=colour, width=1, dash="dot")))
        detail = event.get("changes") or event.get("message") or ""
        xs.append(step)
        texts.append(chart_text(f"{label} at step {step} {detail}".strip(), limit=300))  # detail is from a file
        colours.append(colour)
    if shapes:
        figure.update_layout(shapes=list(figure.layout.shapes or ()) + shapes)  # keep earlier lines
        figure.add_trace(go.Scatter(x=xs, y=[1.0] * len(xs), yaxis="y2", mode="markers",
                                    marker=dict(symbol="triangle-down", size=9, color=colours),
                                    hovertext=texts, hoverinfo="text", name="events", showlegend=False))
        figure.update_layout(yaxis2=dict(overlaying="y", range=[0, 1.05], visible=False, fixedrange=True))


def loss_figure(frame: pd.DataFrame, events: Iterable[dict[str, Any]] = (), smoothing: float = 0.0) -> go.Figure:
    """D loss and G loss against step."""
    return _line_figure(frame, {"d_loss": "D loss", "g_loss": "G loss"}, smoothing, "Losses", "loss", events)


def scores_figure(frame: pd.DataFrame, events: Iterable[dict[str, Any]] = (), smoothing: float = 0.0) -> go.Figure:
    """Mean D(x) on real and D(G(z)) on fakes against step, with the 0.5 line where D cannot tell them apart."""
    figure = _line_figure(frame, {"d_real": "D(x) real", "d_fake": "D(G(z)) fake"}, smoothing,
                          "Discriminator scores", "mean sigmoid output", events)
    figure.add_hline(y=0.5, line=dict(color="#555555", dash="dash", width=1),
                     annotation_text="0.5: D cannot tell", annotation_position="bottom right")
    figure.update_yaxes(range=[0, 1])
    return figure


def quality_figure(quality: pd.DataFrame, reference: dict | None = None,
                   events: Iterable[dict[str, Any]] = ()) -> go.Figure:
    """FID (left axis) and coverage share, precision, recall (right axis, 0..1) against step,
    with the real data's FID as a dashed floor."""
    figure = go.Figure()
    if not quality.empty:
        figure.add_trace(go.Scatter(x=quality["step"], y=quality["fid"], mode="lines+markers", name="FID",
                                    line=dict(color="#1f77b4")))
        for column, label, colour in (("precision", "precision", "#2ca02c"), ("recall", "recall", "#ff7f0e")):
            figure.add_trace(go.Scatter(x=quality["step"], y=quality[column], mode="lines+markers", name=label,
                                        yaxis="y2", line=dict(color=colour, dash="dot")))
        figure.add_trace(go.Scatter(x=quality["step"], y=quality["classes_covered"] / 10.0, mode="lines+markers",
                                    name="classes >= 2% (/10)", yaxis="y2", line=dict(color="#9467bd", dash="dot")))
    if reference is not None:
        figure.add_hline(y=reference["fid"], line=dict(color="#1f77b4", dash="dash", width=1),
                         annotation_text=f"real data FID {reference['fid']:.2f}", annotation_position="top left")
    _add_event_markers(figure, events)
    figure.update_layout(title="Sample quality", height=300, margin=dict(l=40, r=40, t=40, b=30),
                         xaxis_title="step", yaxis=dict(title="FID (lower is better)", type="log"),
                         yaxis2=dict(overlaying="y", side="right", range=[0, 1.05], title="share", visible=True),
                         legend=dict(orientation="h", y=-0.25), uirevision="keep")
    return figure


def objective_curves(points: int = 400) -> pd.DataFrame:
    """The generator's two objectives against D(G(z)) in (0, 1), as the seed post plots them."""
    x = np.linspace(0.001, 0.999, points)
    return pd.DataFrame({"d_fake": x, "minimax": np.log(1 - x), "non_saturating": -np.log(x)})


def objective_gradients(d_fake: float) -> dict[str, float]:
    """|dLoss/dD(G(z))| and |dLoss/dlogit| for both generator objectives at a mean D(G(z))."""
    x = float(np.clip(d_fake, 1e-6, 1 - 1e-6))
    return {
        "minimax_wrt_score": 1 / (1 - x), "non_saturating_wrt_score": 1 / x,
        # Through the sigmoid, d/dl log(1 - s(l)) = -s(l) and d/dl -log s(l) = -(1 - s(l)).
        "minimax_wrt_logit": x, "non_saturating_wrt_logit": 1 - x,
    }


def objectives_figure(curves: pd.DataFrame, d_fake: float | None) -> go.Figure:
    """log(1 - D(G(z))) and -log D(G(z)) against D(G(z)), with the current batch's mean marked."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=curves["d_fake"], y=curves["minimax"], name="log(1 - D(G(z)))  minimax",
                                line=dict(color="#d62728")))
    figure.add_trace(go.Scatter(x=curves["d_fake"], y=curves["non_saturating"],
                                name="-log D(G(z))  non-saturating", line=dict(color="#1f77b4")))
    if d_fake is not None and np.isfinite(d_fake):
        x = float(np.clip(d_fake, 0.001, 0.999))
        figure.add_trace(go.Scatter(x=[x, x], y=[np.log(1 - x), -np.log(x)], mode="markers+text",
                                    marker=dict(size=12, color=["#d62728", "#1f77b4"]),
                                    text=["now", "now"], textposition="top right", name="current D(G(z))"))
        figure.add_vline(x=x, line=dict(color="#555555", dash="dot", width=1))
    figure.update_layout(title="Why the non-saturating loss", height=320, xaxis_title="D(G(z))",
                         yaxis_title="generator objective", margin=dict(l=40, r=10, t=40, b=30),
                         legend=dict(orientation="h", y=-0.3), yaxis=dict(range=[-5, 5]))
    return figure


# Tableau 10: a qualitative palette whose neighbours differ in hue; after ten runs the dash changes.
RUN_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf")
RUN_DASHES = ("solid", "dash", "dot", "dashdot")
X_AXES = {"step": "step", "wall_time": "wall time since the run's first step (s)"}


def run_styles(labels: Iterable[str]) -> dict[str, dict[str, str]]:
    """One fixed colour (and dash, past ten runs) per run, by position: the same in every chart."""
    return {label: {"color": RUN_PALETTE[index % len(RUN_PALETTE)],
                    "dash": RUN_DASHES[index // len(RUN_PALETTE) % len(RUN_DASHES)]}
            for index, label in enumerate(labels)}


def with_elapsed(frame: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """frame with an `elapsed_s` column: wall time since the run's first logged step, interpolated by step
    from metrics.csv's wall_time (quality rows carry only steps). NaN where metrics has no wall time."""
    frame = frame.copy()
    if "step" in frame and "step" in metrics and "wall_time" in metrics and not metrics.empty and metrics["wall_time"].notna().any():
        known = metrics[["step", "wall_time"]].dropna().sort_values("step")
        wall = np.interp(frame["step"].astype(float), known["step"].astype(float), known["wall_time"].astype(float))
        frame["elapsed_s"] = wall - float(known["wall_time"].iloc[0])
    else:
        frame["elapsed_s"] = np.nan
    return frame


def overlay_figure(frames: dict[str, pd.DataFrame], column: str, smoothing: float = 0.0, x: str = "step",
                   styles: dict[str, dict[str, str]] | None = None, title: str | None = None) -> go.Figure:
    """One metric from several runs on one chart (one trace per run, in the run's own colour), by step or
    by wall time (x="wall_time": the frames' `elapsed_s` column, see with_elapsed)."""
    styles = styles or run_styles(frames)
    x_column = "elapsed_s" if x == "wall_time" else "step"
    figure = go.Figure()
    for label, frame in frames.items():
        if column not in frame or x_column not in frame or frame.empty:
            continue
        data = pd.DataFrame({"x": frame[x_column].astype(float), "y": frame[column].astype(float)}).dropna()
        if data.empty:
            continue
        data["y"] = smooth(data["y"], smoothing)
        data = downsample(data)
        sparse = len(data) <= 60  # a few points (quality every N steps): show each one
        figure.add_trace(go.Scatter(x=data["x"], y=data["y"], mode="lines+markers" if sparse else "lines",
                                    name=chart_text(label), line=dict(width=2, **styles.get(label, {})),
                                    marker=dict(color=styles.get(label, {}).get("color"), size=6)))
    figure.update_layout(title=title or column, height=300, xaxis_title=X_AXES.get(x, x),
                         margin=dict(l=40, r=10, t=40, b=30), legend=dict(orientation="h", y=-0.3),
                         uirevision="keep")
    if column == "fid":
        figure.update_yaxes(type="log", title="FID (lower is better)")
    return figure
