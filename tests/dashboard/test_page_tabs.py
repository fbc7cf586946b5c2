"""Every tab shows the live run's settings and offers Apply only for its user's own edits (issue #27, item 1):
a tab opened before another tab started a run, a tab whose neighbour applied a change, and a run resumed from
the Runs view. Two AppTests in one process are two browser tabs of one server (one TrainingSession)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.components import status_of
from tests.support.pages import APP, choose_tiny_config

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _tab() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    return at


def _apply_keys(at: AppTest) -> list[str]:
    return [button.label for button in at.button if button.key == "btn.apply"]


def _stop(at: AppTest) -> None:
    at.run()
    if not at.button(key="btn.stop").disabled:
        at.button(key="btn.stop").click().run()


@pytest.fixture
def tabs(runs_root):
    first, second = _tab(), _tab()
    yield first, second
    _stop(second)


def test_a_tab_opened_before_another_tab_started_shows_that_runs_settings(tabs):
    idle, starter = tabs
    assert idle.selectbox(key="cfg.preset").value == "default"
    starter.selectbox(key="cfg.preset").set_value("seed-mlp").run()
    choose_tiny_config(starter)
    starter.button(key="btn.start").click().run()
    starter.button(key="btn.pause").click().run()
    idle.run()  # the status line's phase change reruns the idle tab
    assert not idle.exception
    assert idle.selectbox(key="cfg.preset").value == "seed-mlp"
    assert idle.selectbox(key="cfg.preset").disabled
    assert idle.number_input(key="cfg.optimizer.lr_d").value == starter.number_input(key="cfg.optimizer.lr_d").value
    assert idle.number_input(key="cfg.model.hidden_dim").value == 16
    assert idle.number_input(key="cfg.training.batch_size").value == 16
    assert _apply_keys(idle) == []  # nothing of this tab's own to apply


def test_a_neighbours_live_change_shows_here_and_only_this_tabs_edit_is_offered(tabs):
    watcher, starter = tabs
    choose_tiny_config(starter)
    starter.button(key="btn.start").click().run()
    starter.button(key="btn.pause").click().run()
    watcher.run()
    assert _apply_keys(watcher) == []
    starter.number_input(key="cfg.optimizer.lr_g").set_value(1e-3).run()
    starter.button(key="btn.apply").click().run()
    watcher.run()
    assert watcher.number_input(key="cfg.optimizer.lr_g").value == 1e-3  # the neighbour's change, shown
    assert _apply_keys(watcher) == []  # and never offered back as an undo
    watcher.number_input(key="cfg.optimizer.lr_d").set_value(5e-4).run()  # this tab's own edit
    starter.number_input(key="cfg.optimizer.lr_g").set_value(2e-3).run()
    starter.button(key="btn.apply").click().run()
    watcher.run()
    assert watcher.number_input(key="cfg.optimizer.lr_g").value == 2e-3
    assert watcher.number_input(key="cfg.optimizer.lr_d").value == 5e-4
    assert _apply_keys(watcher) == ["Apply Learning rate D = 0.0005"]


def test_resume_from_runs_brings_back_that_runs_settings_and_its_preset(tabs):
    at, _ = tabs
    at.selectbox(key="cfg.preset").set_value("seed-mlp").run()
    choose_tiny_config(at)
    at.number_input(key="cfg.optimizer.lr_g").set_value(3e-4).run()
    at.button(key="btn.start").click().run()
    at.button(key="btn.stop").click().run()
    assert status_of(at)[0] == "finished"
    first_run = at.session_state["cfg.optimizer.lr_g"]
    at.selectbox(key="cfg.preset").set_value("default").run()  # another run with other settings
    choose_tiny_config(at)
    at.button(key="btn.start").click().run()
    at.button(key="btn.stop").click().run()
    assert at.number_input(key="cfg.optimizer.lr_g").value == 8e-4
    at.radio(key="view").set_value("Runs").run()
    seed_run = next(option for option in at.selectbox(key="resume.run").options if "seed-mlp" in option)
    at.selectbox(key="resume.run").set_value(seed_run).run()
    at.button(key="btn.resume_run").click().run()
    assert not at.exception
    assert status_of(at)[0] == "running"
    assert at.selectbox(key="cfg.preset").value == "seed-mlp"
    assert at.number_input(key="cfg.optimizer.lr_g").value == first_run == 3e-4
    assert at.number_input(key="cfg.optimizer.lr_d").value == 2e-4  # seed-mlp's, not the default's 8e-4
    assert _apply_keys(at) == []
