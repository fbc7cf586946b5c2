"""The A/B view (AppTest, #11 item 6): a pair started from the page on the sidebar's config, shown side by side,
kept as two run directories differing in one field; bad values named beside the form; the runner's model copies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dashboard.live import feed
from dashboard.live.ab_messages import summary_rows
from dashboard.views.ab import AB_FIELDS, parse_ab_values, suggested_values
from gan_core.config.presets import preset
from gan_core.config.schema import RunConfig
from gan_core.control.ab import ABProgress, ABRunner, describe_value
from gan_core.runs.checkpoint import load_checkpoint
from gan_core.runs.paths import RunPaths
from tests.support.components import component_data, component_keys
from tests.support.pages import APP

HOST = "127.0.0.1:8501"  # a loopback Host, as the page's own fetches name it
pytestmark = pytest.mark.timeout(300)


def tiny() -> RunConfig:
    """seed-mlp on scikit-learn's 8x8 digits with a 16-wide MLP: hundreds of steps a second on a CPU."""
    return preset("seed-mlp").with_changes({"data.name": "digits", "model.hidden_dim": 16, "model.latent_dim": 8,
                                            "training.batch_size": 16, "training.device": "cpu",
                                            "training.eval_every": 0, "training.checkpoint_every": 5})


def config_differences(run_a: Path, run_b: Path) -> dict:
    """{dotted field: (A's value, B's value)} for every config.json leaf that differs between two runs."""
    def leaves(values: dict, prefix: str = "") -> dict:
        flat = {}
        for key, value in values.items():
            flat.update(leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return flat

    a, b = (leaves(json.loads(RunPaths(run).config.read_text())) for run in (run_a, run_b))
    assert a.keys() == b.keys()
    return {key: (a[key], b[key]) for key in a if a[key] != b[key]}


@pytest.fixture
def started(monkeypatch) -> list[ABRunner]:
    """Every runner the page starts (the page's own is cached inside the app script), stopped at the end."""
    runners: list[ABRunner] = []
    real_start = ABRunner.start

    def recording_start(self, *args, **kwargs):
        runners.append(self)
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(ABRunner, "start", recording_start)
    yield runners
    for runner in runners:
        runner.shutdown()


@pytest.fixture
def app(tmp_path, monkeypatch, started):
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()  # a fresh session and A/B runner per test
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    yield at
    st.cache_resource.clear()


def _sidebar(at: AppTest, preset_name: str, **values) -> None:
    """Choose a preset, then shrink it with the sidebar's own widgets (cfg.<field> keys)."""
    at.selectbox(key="cfg.preset").set_value(preset_name).run()
    for field, value in values.items():
        widget = at.selectbox(key=f"cfg.{field}") if isinstance(value, str) else at.number_input(key=f"cfg.{field}")
        widget.set_value(value)
    at.run()
    at.radio(key="view").set_value("A/B").run()
    assert not at.exception


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _kept_folders(at: AppTest) -> list[str]:
    """The run folders the finished line names, as plain text."""
    line = _unescaped(next(s.value for s in at.success if "Runs view" in s.value))
    return re.findall(r"\d{8}-\d{6}-[\w-]+-[AB]", line)


@pytest.mark.apptest
def test_a_toy_pair_runs_from_the_page_and_is_kept_as_two_runs(app, started, tmp_path):
    _sidebar(app, "toy-ring", **{"data.limit": 512, "model.hidden_dim": 16, "training.batch_size": 32,
                                 "training.eval_every": 10, "training.device": "cpu"})
    assert app.selectbox(key="ab.field").value == "loss.loss"
    assert (app.selectbox(key="ab.value_a.loss.loss").value, app.selectbox(key="ab.value_b.loss.loss").value) \
        == ("minimax", "non_saturating")
    assert app.number_input(key="ab.steps.points").value == 2000  # the 2D default
    app.number_input(key="ab.steps.points").set_value(20)
    app.button(key="ab.run").click().run()
    assert not app.exception and len(started) == 1
    assert started[0].wait(120)
    app.run()
    assert not app.exception
    progress = started[0].progress()
    assert progress.status == "finished" and progress.step == (20, 20)
    # Side by side: each run's heading, then the overlaid curves and the numbers table below both.
    headings = [_unescaped(m.value) for m in app.markdown if m.value.startswith("**A") or m.value.startswith("**B")]
    assert headings == ["**A: loss.loss=minimax** · step **20** · finish",
                        "**B: loss.loss=non_saturating** · step **20** · finish"]
    # The overlaid curves: one chart per compared curve, a series per run, fed by the live feed's ab_charts.
    charts = component_data(app, "ab.charts")
    assert charts["feed"]["part"] == "ab_charts"
    assert [chart["id"] for chart in charts["spec"]["charts"]] == ["d_loss", "g_loss", "d_fake", "grad_norm_g"]
    assert [series["label"] for series in charts["spec"]["charts"][0]["series"]] == \
        ["A: loss.loss=minimax", "B: loss.loss=non_saturating"]
    # The latest numbers: the status component's table, a column per run.
    table = component_data(app, "ab.status")["initial"]["table"]
    assert table["columns"] == ["latest", "A: loss.loss=minimax", "B: loss.loss=non_saturating"]
    rows = {row[0]: row[1:] for row in table["rows"]}
    assert rows["step"] == ["20", "20"] and rows["modes_total"] == ["8", "8"]
    assert float(rows["g_loss"][0]) < 0 < float(rows["g_loss"][1])  # minimax's is negative
    # Each side's canvas draws the frames the feed makes from that run's model copies.
    assert {"ab.playground.a", "ab.playground.b"} <= set(component_keys(app))
    frame = feed.answer("ab_a", {}, HOST)["message"]
    assert frame["step"] == 20 and frame["cells"] == 64 and "real" in frame
    # Kept: two ordinary run directories, named on the page, differing in exactly the chosen field.
    folders = _kept_folders(app)
    runs = tmp_path / "runs"
    assert sorted(folders) == sorted(p.name for p in runs.iterdir()) and len(folders) == 2
    run_a, run_b = (runs / name for name in folders)
    assert config_differences(run_a, run_b) == {"loss.loss": ("minimax", "non_saturating")}
    assert json.loads(RunPaths(run_a).config.read_text())["data"]["name"] == "ring8"
    assert not app.button(key="ab.run").disabled and app.button(key="ab.stop").disabled


@pytest.mark.apptest
def test_an_image_pair_shows_each_runs_latest_sample_grid(app, started, tmp_path):
    _sidebar(app, "seed-mlp", **{"data.limit": 400, "model.hidden_dim": 16, "model.latent_dim": 8,
                                 "training.batch_size": 16, "training.sample_every": 4, "training.eval_every": 0,
                                 "training.device": "cpu"})
    assert app.number_input(key="ab.steps.images").value == 300  # the image default
    app.selectbox(key="ab.field").set_value("optimizer.lr_g").run()
    assert app.text_input(key="ab.value_a.optimizer.lr_g").value == "0.0002"  # the sidebar's value
    app.text_input(key="ab.value_b.optimizer.lr_g").set_value("1e-3")
    app.number_input(key="ab.steps.images").set_value(6)
    app.button(key="ab.run").click().run()
    assert started and started[0].wait(120)
    app.run()
    assert not app.exception
    # Each side shows its live grid (compact images component), which the feed sends from the runner's memory.
    assert {"ab.images.a", "ab.images.b"} <= set(component_keys(app))
    assert component_data(app, "ab.images.a")["compact"] is True
    for part in ("ab_a", "ab_b"):
        message = feed.answer(part, {}, HOST)["message"]
        assert message["grid"]["step"] == 6 and message["real"] is None and message["steps"] == []
    run_a, run_b = (tmp_path / "runs" / name for name in _kept_folders(app))
    assert config_differences(run_a, run_b) == {"optimizer.lr_g": (2e-4, 1e-3)}


@pytest.mark.apptest
@pytest.mark.parametrize("value_b,needle", [
    ("abc", "optimizer.lr_d='abc' is invalid: expected a float"),
    ("0.001", "optimizer.lr_d=0.001 in both runs"),
    ("5.0", "optimizer.lr_d=5.0 is invalid"),
])
def test_a_bad_value_is_named_beside_the_form_and_starts_nothing(app, started, tmp_path, value_b, needle):
    _sidebar(app, "toy-ring")
    app.selectbox(key="ab.field").set_value("optimizer.lr_d").run()
    assert app.text_input(key="ab.value_a.optimizer.lr_d").value == "0.001"
    # Typed and clicked in one go (the browser sends both at once): the click checks the value it gets.
    app.text_input(key="ab.value_b.optimizer.lr_d").set_value(value_b)
    app.button(key="ab.run").click().run()
    assert not app.exception
    errors = [_unescaped(e.value) for e in app.main.error]
    assert any(m.startswith("The A/B experiment did not start: ") and needle in m for m in errors), errors
    # From then on the message stands beside the form and Run A/B is off until the value is fixed.
    assert any(m.startswith(needle) for m in errors) and app.button(key="ab.run").disabled
    assert started == [] and not (tmp_path / "runs").exists()


@pytest.mark.apptest
def test_an_invalid_sidebar_says_so_instead_of_the_form(app):
    _sidebar(app, "toy-ring", **{"training.batch_size": 0})
    assert any("sidebar's settings are invalid" in w.value for w in app.main.warning)
    assert "ab.run" not in [b.key for b in app.button]


@pytest.mark.parametrize("preset_name", ["toy-ring", "default"])
def test_every_fields_suggested_pair_is_a_valid_experiment(preset_name):
    config = preset(preset_name)
    for field in AB_FIELDS:
        value_a, value_b = suggested_values(config, field)
        values, problem = parse_ab_values(config, field, describe_value(value_a), describe_value(value_b))
        assert problem is None and values == (value_a, value_b), (field, problem)


def test_the_summary_table_puts_each_run_in_a_column_as_text():
    progress = ABProgress(status="running", field="loss.loss", values=("minimax", "hinge"), steps=10, step=(3, 2),
                          last_rows=({"step": 3, "d_loss": 0.8}, {"step": 2, "d_loss": 1.5}))
    quality = (({"step": 2.0, "js": 0.25, "eval_s": 0.1},), ())
    rows = {row[0]: row[1:] for row in summary_rows(progress, quality)}
    assert rows["d_loss"] == ["0.8", "1.5"] and rows["g_loss"] == ["-", "-"]
    assert rows["quality at step"] == ["2", "-"] and rows["js"] == ["0.25", "-"]
    assert "eval_s" not in rows and rows["status"] == ["running", "running"] and rows["step"] == ["3", "2"]


# ---- the engine's model copies ---------------------------------------------------------------

def test_models_are_eval_copies_of_each_side_taken_between_steps(tmp_path):
    runner = ABRunner()
    assert runner.models(0) is None  # nothing started
    with pytest.raises(ValueError, match="side=2 is invalid"):
        runner.models(2)
    run_a, run_b = runner.start(tiny(), "loss.loss", "minimax", "non_saturating", steps=1_000_000,
                                runs_root=tmp_path)
    try:
        while runner.progress().step[1] < 3 and runner.progress().status == "running":
            # Copies while the thread steps: whole steps, never a torn net.
            models = runner.models(1)
            assert models is not None and 0 <= models.step <= runner.progress().steps
            assert all(torch.isfinite(p).all() for p in models.generator.parameters())
    finally:
        runner.stop()
    assert runner.wait(60) and runner.progress().status == "stopped" and min(runner.progress().step) >= 2
    for side, run in enumerate((run_a, run_b)):
        first, second = runner.models(side), runner.models(side)
        assert first.step == runner.progress().step[side]
        assert first.generator is not second.generator and first.discriminator is not second.discriminator
        assert not first.generator.training and not first.discriminator.training
        assert not any(p.requires_grad for p in first.generator.parameters())
        saved = load_checkpoint(RunPaths(run).latest)  # the weights the run stopped with
        assert saved["step"] == first.step
        for name, value in first.generator.state_dict().items():
            assert torch.equal(value, saved["generator"][name]), name
        for name, value in first.discriminator.state_dict().items():
            assert torch.equal(value, saved["discriminator"][name]), name
        with torch.no_grad():  # a copy's weights are its own: changing them leaves the run's alone
            next(first.generator.parameters()).add_(1.0)
        assert torch.equal(next(runner.models(side).generator.parameters()),
                           next(iter(saved["generator"].values())))
    # A and B differ in the loss only, so their weights part after the first G step.
    assert not torch.equal(next(runner.models(0).generator.parameters()),
                           next(runner.models(1).generator.parameters()))
