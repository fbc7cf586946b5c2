"""The Runs view hands an opened run's saved grids to a live component (issue #27, item 9): it follows the run
while it trains (the feed's runs_grids part, tests/dashboard/test_feed_runs_grids.py), where a slider drawn with
the page stayed at the step it was drawn at."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support.components import component_data, run_dir_of
from tests.support.pages import APP, choose_tiny_config

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def test_an_opened_run_that_trains_gets_saved_grids_that_follow_it(runs_root):
    at = AppTest.from_file(APP, default_timeout=120).run()
    choose_tiny_config(at)
    at.number_input(key="cfg.training.sample_every").set_value(10).run()
    at.button(key="btn.start").click().run()
    try:
        name = run_dir_of(at).name
        at.radio(key="view").set_value("Runs").run()
        at.multiselect(key="runs.chosen").set_value([name]).run()
        assert not at.exception
        data = component_data(at, "runs.grids")
        assert data["timeline"] is True and data["feed"]["part"] == "runs_grids" and data["feed"]["live"] is True
        assert data["state"] == {"watch": at.session_state["runs.watch"], "open": name}
        assert data["pin"] == "runs_pin"
    finally:
        at.button(key="btn.stop").click().run()
    data = component_data(at, "runs.grids")
    assert data["feed"]["live"] is False  # a finished run: fetched once, nothing to follow
