"""AppTest (streamlit.testing.v1) tests of the dashboard page with the real TrainingSession on a tiny config."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gan_core.runs.checkpoint import load_checkpoint
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events
from tests.support.components import run_dir_of, status_of
from tests.support.pages import APP, choose_tiny_config

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()  # a fresh TrainingSession per test
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    yield at
    # Stop any run this test left going, through the page, so no thread outlives the test.
    for key in ("btn.stop",):
        if key in [b.key for b in at.button] and not at.button(key=key).disabled:
            at.button(key=key).click().run()
    st.cache_resource.clear()


def _status(at) -> tuple[str, int]:
    """(state, step) of the status line as the page drew it (the status component's first message)."""
    return status_of(at)


def _run_dir(at) -> Path:
    """The run directory the status line names."""
    return run_dir_of(at)


def test_page_loads_on_the_embedded_data(app):
    assert not app.exception
    assert _status(app) == ("idle", 0)
    assert app.selectbox(key="cfg.data.name").value == "mnist5k"
    enabled = {b.label: not b.disabled for b in app.button if b.key and b.key.startswith("btn.")}
    assert enabled["Start"] and not enabled["Pause"] and not enabled["Resume"] and not enabled["Stop"]


def test_invalid_field_shows_its_message_and_disables_start(app):
    app.number_input(key="cfg.optimizer.lr_g").set_value(5.0).run()
    assert not app.exception
    messages = [e.value for e in app.sidebar.error]
    assert any(m.startswith("optimizer.lr_g=5.0 is invalid") for m in messages)
    assert app.button(key="btn.start").disabled
    app.number_input(key="cfg.optimizer.lr_g").set_value(1e-3).run()
    assert not app.sidebar.error and not app.button(key="btn.start").disabled


def test_folder_without_path_names_the_field(app):
    app.selectbox(key="cfg.data.name").set_value("folder").run()
    assert any("data.path" in e.value for e in app.sidebar.error)
    assert app.button(key="btn.start").disabled


def test_controls_drive_the_real_session(app):
    choose_tiny_config(app)
    app.button(key="btn.start").click().run()
    assert _status(app)[0] == "running"
    time.sleep(1.0)
    app.button(key="btn.pause").click().run()
    status, held = _status(app)
    assert status == "paused" and held > 0
    assert not app.button(key="btn.step").disabled and app.button(key="btn.pause").disabled
    time.sleep(0.5)
    app.run()
    assert _status(app) == ("paused", held)
    app.number_input(key="btn.step_n").set_value(3)
    app.button(key="btn.step").click().run()
    assert _status(app) == ("paused", held + 3)
    app.button(key="btn.resume").click().run()
    assert _status(app)[0] == "running"
    time.sleep(0.5)
    app.button(key="btn.stop").click().run()
    status, final = _status(app)
    assert status == "finished" and final > held + 3
    paths = RunPaths(_run_dir(app))
    kinds = [e["kind"] for e in read_events(paths.events)]
    assert kinds[0] == "start" and kinds.count("pause") == 1 and kinds.count("resume") == 1 and kinds[-1] == "stop"
    assert load_checkpoint(paths.latest)["step"] == final
    assert read_metrics(paths.metrics)["step"].tolist() == list(range(1, final + 1))


def test_apply_changes_a_live_field(app):
    choose_tiny_config(app)
    app.button(key="btn.start").click().run()
    app.button(key="btn.pause").click().run()
    app.number_input(key="cfg.optimizer.lr_g").set_value(1e-3).run()
    assert app.number_input(key="cfg.training.batch_size").disabled  # not live: locked during the run
    app.button(key="btn.apply").click().run()
    held = _status(app)[1]
    app.number_input(key="btn.step_n").set_value(2)
    app.button(key="btn.step").click().run()
    assert _status(app) == ("paused", held + 2)
    app.button(key="btn.stop").click().run()  # stopping flushes metrics.csv
    paths = RunPaths(_run_dir(app))
    updates = [e for e in read_events(paths.events) if e["kind"] == "update"]
    assert updates and updates[0]["changes"] == {"optimizer.lr_g": 1e-3}
    # The optimizer itself changed: each metrics row reads lr_g from G's optimizer (Trainer.step).
    rows = read_metrics(paths.metrics)
    after = rows[rows["step"] > updates[0]["step"]]
    assert len(after) >= 2 and after["lr_g"].tolist() == [1e-3] * len(after)
    assert rows[rows["step"] <= updates[0]["step"]]["lr_g"].ne(1e-3).all()
    assert rows["lr_d"].nunique() == 1  # only the field applied changed


def test_a_new_tab_during_a_run_shows_its_live_settings_and_no_apply(app):
    choose_tiny_config(app)
    app.button(key="btn.start").click().run()
    app.button(key="btn.pause").click().run()
    app.number_input(key="cfg.optimizer.lr_g").set_value(1e-3).run()
    app.button(key="btn.apply").click().run()
    second = AppTest.from_file(APP, default_timeout=120).run()  # a reload: a fresh browser session, same run
    assert not second.exception
    assert second.number_input(key="cfg.optimizer.lr_g").value == 1e-3
    assert second.number_input(key="cfg.model.hidden_dim").value == 16  # the run's own, not the preset's
    assert "btn.apply" not in [b.key for b in second.button]


def test_latent_explorer_renders_a_strip_of_the_chosen_length(app):
    choose_tiny_config(app)
    app.button(key="btn.start").click().run()
    app.button(key="btn.pause").click().run()
    app.radio(key="view").set_value("Latent explorer").run()
    app.number_input(key="explore.steps").set_value(5)
    app.radio(key="explore.method").set_value("lerp").run()
    assert not app.exception
    assert app.session_state["explore.strip_length"] == 5
    captions = [caption for image in app.image for caption in image.captions]
    # The default preset's G is self-conditioned: the caption goes on to name each frame's cluster.
    assert any(c.startswith("lerp, 5 steps from seed 1 to seed 2 · clusters ") for c in captions), captions


def test_every_invalid_field_is_flagged_at_once_and_the_banner_names_them(app):
    app.number_input(key="cfg.optimizer.lr_g").set_value(5.0)
    app.number_input(key="cfg.training.batch_size").set_value(0)
    app.number_input(key="cfg.data.limit").set_value(-1).run()
    assert not app.exception
    messages = [e.value for e in app.sidebar.error]
    for prefix in ("data.limit=-1 is invalid", "optimizer.lr_g=5.0 is invalid", "training.batch_size=0 is invalid"):
        assert sum(m.startswith(prefix) for m in messages) == 1, (prefix, messages)
    # Each message sits right below its own field.
    elements = [node for node in app.sidebar if not hasattr(node, "children")]
    keys = [getattr(node, "key", None) for node in elements]
    for key, prefix in (("cfg.optimizer.lr_g", "optimizer.lr_g="), ("cfg.training.batch_size", "training.batch_size=")):
        following = elements[keys.index(key) + 1]
        assert following.type == "error" and following.value.startswith(prefix), (key, following)
    banner = next(w.value for w in app.warning if w.value.startswith("Fix "))
    assert banner.startswith("Fix these 3 settings to start:")
    for label in ("Use first N images", "Learning rate G", "Batch size"):
        assert f"**{label}" in banner, banner
    assert app.button(key="btn.start").disabled


def test_every_sidebar_field_and_the_step_count_have_help_and_a_label(app):
    widgets = [w for kind in ("selectbox", "number_input", "text_input", "checkbox") for w in getattr(app.sidebar, kind)]
    assert len(widgets) >= 25
    assert [w.label for w in widgets if not w.help] == []
    step_count = app.number_input(key="btn.step_n")
    assert step_count.label == "Steps per Step" and step_count.help
    assert step_count.proto.label_visibility.value == step_count.proto.label_visibility.VISIBLE


def test_the_intro_shows_until_the_first_start(app):
    assert any(i.value.startswith("**New here?**") for i in app.info)
    app.run()
    assert any(i.value.startswith("**New here?**") for i in app.info)  # a rerun keeps it
    choose_tiny_config(app)
    app.button(key="btn.start").click().run()
    assert not any(i.value.startswith("**New here?**") for i in app.info)
    app.button(key="btn.stop").click().run()
    assert _status(app)[0] == "finished"
    assert not any(i.value.startswith("**New here?**") for i in app.info)


def _explainer_charts(at) -> list:
    return [chart for chart in at.get("plotly_chart") if "objectives" in str(chart.proto.id)]


def test_the_explainer_is_built_only_while_open_and_choosing_minimax_opens_it(app):
    # Closed, its Plotly chart is neither sent nor drawn (every full rerun would pay for it).
    assert [e.label for e in app.main.expander] == ["Why the non-saturating loss?"]
    assert not _explainer_charts(app)
    app.session_state["why.open.other"] = True  # what a click on the expander sets
    app.run()
    assert len(_explainer_charts(app)) == 1
    assert any(c.value.startswith("Start a run to see") for c in app.caption)
    app.session_state["why.open.other"] = False
    app.run()
    assert not _explainer_charts(app)
    # Choosing the minimax loss (the post's contrast) opens it without a click.
    app.selectbox(key="cfg.loss.loss").set_value("minimax").run()
    assert len(_explainer_charts(app)) == 1
