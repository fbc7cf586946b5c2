import numpy as np
import pandas as pd
import pytest

from dashboard.ui import charts


def _frame(rows: int) -> pd.DataFrame:
    steps = np.arange(1, rows + 1)
    return pd.DataFrame({"step": steps, "d_loss": np.sin(steps / 50.0) + 1.5, "g_loss": np.cos(steps / 50.0) + 1.5,
                         "d_real": np.full(rows, 0.7), "d_fake": np.full(rows, 0.3),
                         "grad_norm_d": np.full(rows, 2.0), "grad_norm_g": np.full(rows, 0.5)})


def test_downsample_keeps_at_most_max_points_and_the_last_row():
    frame = _frame(100_000)
    small = charts.downsample(frame, 2000)
    assert len(small) <= 2001 and small["step"].iloc[-1] == 100_000 and small["step"].iloc[0] == 1
    assert charts.downsample(frame.head(10), 2000).equals(frame.head(10))


def test_smoothing_is_an_ema_and_zero_is_raw():
    series = pd.Series([0.0, 10.0, 10.0, 10.0])
    assert charts.smooth(series, 0.0).equals(series)
    smoothed = charts.smooth(series, 0.9)
    assert smoothed.iloc[0] == 0.0 and 0 < smoothed.iloc[1] < 10 and smoothed.is_monotonic_increasing


def test_loss_figure_draws_raw_and_smoothed_curves_with_event_markers():
    events = [{"kind": "pause", "step": 10}, {"kind": "update", "step": 20, "changes": {"lr_g": 1e-3}},
              {"kind": "checkpoint", "step": 30}]
    figure = charts.loss_figure(_frame(100_000), events, smoothing=0.6)
    names = [trace.name for trace in figure.data]
    assert names[:4] == ["D loss (raw)", "D loss", "G loss (raw)", "G loss"]
    assert all(len(trace.x) <= 2001 for trace in figure.data[:4])
    assert len(figure.layout.shapes) == 2  # checkpoints are not marked
    raw = charts.loss_figure(_frame(50), smoothing=0.0)
    assert [trace.name for trace in raw.data] == ["D loss", "G loss"]


def test_scores_figure_has_the_half_line():
    figure = charts.scores_figure(_frame(20))
    assert any(shape.y0 == 0.5 and shape.y1 == 0.5 for shape in figure.layout.shapes)


def test_objective_gradients_show_the_saturation():
    early = charts.objective_gradients(0.01)  # D confidently rejects the fakes
    assert early["minimax_wrt_logit"] == pytest.approx(0.01)
    assert early["non_saturating_wrt_logit"] == pytest.approx(0.99)
    assert early["non_saturating_wrt_score"] == pytest.approx(100.0)
    curves = charts.objective_curves()
    assert (curves["minimax"] < 0).all() and (curves["non_saturating"] > 0).all()
    figure = charts.objectives_figure(curves, 0.2)
    marker = figure.data[-1]
    assert marker.x[0] == pytest.approx(0.2) and marker.y[1] == pytest.approx(-np.log(0.2))


def test_quality_figure_draws_fid_shares_and_the_real_floor():
    quality = pd.DataFrame({"step": [500, 1000], "fid": [40.0, 20.0], "classes_covered": [8, 10],
                            "precision": [0.5, 0.7], "recall": [0.3, 0.6]})
    figure = charts.quality_figure(quality, {"fid": 1.2}, [{"kind": "health", "step": 1000, "message": "x"}])
    names = [trace.name for trace in figure.data]
    assert names[:4] == ["FID", "precision", "recall", "classes >= 2% (/10)"]
    assert list(figure.data[3].y) == [0.8, 1.0]
    assert any(shape.y0 == 1.2 for shape in figure.layout.shapes)  # the real-data floor
    assert figure.layout.yaxis2.visible is True


def test_names_and_event_details_from_files_cannot_become_html_in_plotly():
    hostile = '<a href="http://example.com/">click</a> <b>x</b> & co'
    frame = pd.DataFrame({"step": [1, 2], "d_loss": [0.5, 0.4], "elapsed_s": [0.0, 1.0]})
    figure = charts.overlay_figure({hostile: frame}, "d_loss")
    assert figure.data[0].name == '&lt;a href="http://example.com/"&gt;click&lt;/a&gt; &lt;b&gt;x&lt;/b&gt; &amp; co'
    events = [{"kind": "update", "step": 1, "message": "<a href='http://e'>go</a>"}]
    marker = [t for t in charts.loss_figure(frame.assign(g_loss=0.6), events).data if t.name == "events"][0]
    assert "<a" not in marker.hovertext[0] and "&lt;a href='http://e'&gt;go&lt;/a&gt;" in marker.hovertext[0]
