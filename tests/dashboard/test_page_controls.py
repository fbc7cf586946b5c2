"""The control bar and the Training view of 2D runs (issue #27): D step and G step run one step whatever
"Steps per Step" holds (item 6); a speed limit that survives reruns and tabs and shows in the status line
(item 5); the view shows the run the status line names after a 2D run (item 2); a live change while paused
hands the playground a new place to fetch from at once (item 11)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import resources
from tests.support.components import component_data, component_keys, status_of
from tests.support.pages import APP

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def choose_tiny_toy(at: AppTest) -> None:
    """toy-ring, small: hundreds of steps a second on a CPU, no evaluation."""
    at.selectbox(key="cfg.preset").set_value("toy-ring").run()
    for key, value in (("cfg.data.limit", 512), ("cfg.model.hidden_dim", 16), ("cfg.training.batch_size", 32),
                       ("cfg.training.eval_every", 0)):
        at.number_input(key=key).set_value(value)
    at.selectbox(key="cfg.training.device").set_value("cpu").run()


@pytest.fixture
def app(runs_root):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    yield at
    at.run()
    if "btn.stop" in [b.key for b in at.button] and not at.button(key="btn.stop").disabled:
        at.button(key="btn.stop").click().run()
    resources.get_session().set_speed_limit(None)


def _paused_toy(at: AppTest) -> int:
    choose_tiny_toy(at)
    at.button(key="btn.start").click().run()
    at.button(key="btn.pause").click().run()
    status, step = status_of(at)
    assert status == "paused"
    return step


def test_d_step_and_g_step_run_one_step_whatever_the_step_count_says(app):
    held = _paused_toy(app)
    app.number_input(key="btn.step_n").set_value(25).run()
    app.button(key="btn.step_d").click().run()
    assert status_of(app) == ("paused", held + 1)
    app.button(key="btn.step_g").click().run()
    assert status_of(app) == ("paused", held + 2)
    app.button(key="btn.step").click().run()  # Step runs the count
    assert status_of(app) == ("paused", held + 27)
    helps = {button.key: button.help for button in app.button if button.key in ("btn.step_d", "btn.step_g")}
    assert all(text.startswith("One step") for text in helps.values()), helps
    assert "D step and G step" in app.number_input(key="btn.step_n").help


def test_the_speed_limit_holds_across_reruns_and_tabs_and_shows_in_the_status_line(app):
    session = resources.get_session()
    assert app.select_slider(key="run.speed").value == 0 and session.speed_limit is None  # off by default
    app.select_slider(key="run.speed").set_value(5.0).run()
    assert session.speed_limit == 5.0
    choose_tiny_toy(app)
    app.button(key="btn.start").click().run()
    started = status_of(app)[1]
    time.sleep(2.0)
    app.run()
    status, step = status_of(app)
    assert status == "running" and step - started <= 14, f"{step - started} steps in 2 s at 5 steps/s"
    assert "speed limit 5 steps/s" in component_data(app, "live.status")["initial"]["parts"]
    assert app.select_slider(key="run.speed").value == 5.0  # kept across reruns
    other = AppTest.from_file(APP, default_timeout=120).run()  # another tab shows the server's one limit
    assert other.select_slider(key="run.speed").value == 5.0
    app.select_slider(key="run.speed").set_value(0.0).run()  # "no limit"
    assert session.speed_limit is None
    assert not any(part.startswith("speed limit") for part in component_data(app, "live.status")["initial"]["parts"])


def test_after_a_2d_run_an_image_preset_still_shows_that_run(app):
    _paused_toy(app)
    app.button(key="btn.stop").click().run()
    assert status_of(app)[0] == "finished"
    app.selectbox(key="cfg.preset").set_value("default").run()  # the sidebar back on an image data set
    assert not app.exception
    keys = component_keys(app)
    assert "playground" in keys and "live.images" not in keys, keys
    assert component_data(app, "playground")["feed"]["part"] == "playground"  # the finished run's last frame


def test_a_live_change_while_paused_gives_the_playground_a_new_place(app):
    _paused_toy(app)
    before = component_data(app, "playground")["feed"]["at"]
    app.selectbox(key="cfg.loss.loss").set_value("minimax").run()
    app.button(key="btn.apply").click().run()
    assert status_of(app)[0] == "paused"
    after = component_data(app, "playground")["feed"]["at"]
    assert after != before  # the component fetches the frame of the run as it now is
