"""What the live charts draw, declared once: the metric columns a chart message carries, the charts and their
series, the colours of series and event markers. The browser gets these with the component (`client_spec`),
so dashboard/static/live_charts.js declares none of them; the Plotly charts (ui/charts.py) use the same
event styles. Imports nothing of Streamlit or Plotly."""

from __future__ import annotations

from typing import Any

# The metrics.csv columns a chart message carries (as base64 float32; wall_time as float64).
CHART_COLUMNS = ("step", "wall_time", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                 "overfit_r", "augment_p", "d_fake_std")
QUALITY_FIELDS = ("step", "fid", "precision", "recall", "classes_covered",
                  "modes_covered", "modes_total", "high_quality_share", "kl", "js")  # the last five: 2D toys
SERIES_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd")
# Event kind -> (colour, label) of its marker, on the live charts and on the Plotly charts alike.
EVENT_STYLES: dict[str, tuple[str, str]] = {
    "pause": ("#888888", "pause"),
    "resume": ("#2ca02c", "resume"),
    "update": ("#9467bd", "hyperparameters"),
    "nonfinite": ("#d62728", "non-finite loss"),
    "restore": ("#ff7f0e", "restored"),
    "health": ("#e377c2", "health warning"),
    "best": ("#17becf", "best FID"),
}
MARKED_EVENTS = tuple(EVENT_STYLES)

# The Training view's charts. A series is (column, label); "quality" charts draw quality rows; "only_with"
# shows a chart once a row has a value > 0 in that column; derived series (classes_share, modes_share) are
# computed in the browser from quality columns.
TRAINING_CHARTS: tuple[dict[str, Any], ...] = (
    {"id": "losses", "title": "Losses", "series": [["d_loss", "D loss"], ["g_loss", "G loss"]]},
    {"id": "scores", "title": "Discriminator scores",
     "series": [["d_real", "D(x) real"], ["d_fake", "D(G(z)) fake"], ["d_fake_std", "spread of D(G(z)) (std)"]],
     "y_range": [0, 1], "hline": [0.5, "0.5: D cannot tell"]},
    {"id": "grads", "title": "Gradient norms", "series": [["grad_norm_d", "|grad D|"], ["grad_norm_g", "|grad G|"]],
     "log": True},
    {"id": "fid", "title": "Sample quality: FID", "quality": True, "series": [["fid", "FID"]], "log": True,
     "floor": True},
    {"id": "shares", "title": "Sample quality: precision, recall, classes", "quality": True,
     "series": [["precision", "precision"], ["recall", "recall"], ["classes_share", "classes >= 2% (/10)"]],
     "y_range": [0, 1.05], "markers": True},
    {"id": "augment", "title": "Augmentation: p and D's overfitting signal r_t", "only_with": "augment_p",
     "series": [["augment_p", "p (augment)"], ["overfit_r", "r_t = E[sign D(x)]"]], "y_range": [-1.05, 1.05]},
    {"id": "modes", "title": "Toy quality: modes covered, samples near a mode", "quality": True,
     "series": [["modes_share", "modes covered (share)"], ["high_quality_share", "within 3 std of a mode"]],
     "y_range": [0, 1.05], "markers": True},
    {"id": "divergence", "title": "Divergence of fake from real (64x64 grid)", "quality": True,
     "series": [["kl", "KL(real || fake)"], ["js", "JS"]]},
)

# The A/B view's overlays: one chart per compared curve, a series per run in the run's own colour.
AB_CURVES = (("d_loss", "D loss", {}), ("g_loss", "G loss", {}), ("d_fake", "D(G(z)) on fakes", {"y_range": [0, 1]}),
             ("grad_norm_g", "|grad G|", {"log": True}))
# Tableau 10's first two: run A and run B, as ui/charts.run_styles colours the first two runs of a comparison.
AB_COLOURS = ("#1f77b4", "#ff7f0e")


def _series(items: list[list[str]], source: str = "", colours: tuple[str, ...] = SERIES_COLOURS) -> list[dict]:
    return [{"column": column, "label": label, "colour": colours[index % len(colours)], "source": source}
            for index, (column, label) in enumerate(items)]


def training_charts() -> list[dict[str, Any]]:
    """The Training view's charts as the browser draws them (series with their colours)."""
    return [{**chart, "series": _series(chart["series"])} for chart in TRAINING_CHARTS]


def overlay_charts(sources: tuple[str, ...], labels: tuple[str, ...]) -> list[dict[str, Any]]:
    """One chart per A/B curve, with a series per source (run) labelled and coloured as that run."""
    return [{"id": column, "title": title, **extra,
             "series": [{"column": column, "label": label, "colour": AB_COLOURS[index % len(AB_COLOURS)],
                         "source": source} for index, (source, label) in enumerate(zip(sources, labels))]}
            for column, title, extra in AB_CURVES]


def client_spec(charts: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the chart component needs to know besides the rows: columns, charts, event styles."""
    return {"columns": list(CHART_COLUMNS), "charts": charts,
            "events": {kind: list(style) for kind, style in EVENT_STYLES.items()}}
