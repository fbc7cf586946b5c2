"""The latent explorer keeps what the user set and asked for (#27 items 3 and 8): its inputs survive a visit to
another view, and a result made on request (the loop GIF, the memorisation check) stays on a live run until
the user asks for another, marked with the step it was made at."""

from __future__ import annotations

import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.support.components import status_of
from tests.support.pages import APP, choose_tiny_config, open_in_explorer
from tests.support.runs import train_tiny_run

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _captions(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_the_explorer_keeps_its_inputs_when_the_user_leaves_the_view(runs_root, tmp_path):
    checkpoint = train_tiny_run(tmp_path / "run")
    at = open_in_explorer(checkpoint)
    at.toggle(key="explore.follow").set_value(False)
    at.number_input(key="explore.seed").set_value(42)
    at.radio(key="explore.method").set_value("lerp")
    at.number_input(key="explore.steps").set_value(12)
    at.number_input(key="explore.loop_frames").set_value(20).run()
    assert not at.exception
    at.radio(key="view").set_value("Training").run()
    at.radio(key="view").set_value("Latent explorer").run()
    assert not at.exception
    assert at.radio(key="explore.source").value == "Checkpoint file"
    assert at.text_input(key="explore.path").value == str(checkpoint)
    assert at.toggle(key="explore.follow").value is False
    assert at.number_input(key="explore.seed").value == 42
    assert at.radio(key="explore.method").value == "lerp"
    assert at.number_input(key="explore.steps").value == 12
    assert at.number_input(key="explore.loop_frames").value == 20
    assert "lerp, 12 steps from seed 1 to seed 2" in " ".join(_captions(at))


@pytest.fixture
def live_page(runs_root):
    """A page training the tiny config on the digits (8x8: a quick evaluator), on the explorer view."""
    at = AppTest.from_file(APP, default_timeout=180).run()
    choose_tiny_config(at)
    at.selectbox(key="cfg.data.name").set_value("digits").run()
    at.button(key="btn.start").click().run()
    assert status_of(at)[0] == "running"
    at.radio(key="view").set_value("Latent explorer").run()
    yield at
    if not at.button(key="btn.stop").disabled:
        at.button(key="btn.stop").click().run()
    st.cache_resource.clear()


def test_a_loop_and_a_memorisation_result_stay_on_a_live_run_marked_with_their_step(live_page):
    at = live_page
    at.button(key="explore.make_gif").click().run()
    assert not at.exception
    made = [c for c in _captions(at) if c.startswith("loop through seeds 1 and 2")]
    at.button(key="explore.memo_check").click().run()
    assert not at.exception and at.metric
    time.sleep(1.0)  # the run moves on: a newer generator
    at.run()
    assert status_of(at)[0] == "running"
    assert made and [c for c in _captions(at) if c.startswith("loop through seeds 1 and 2")] == made  # still there
    assert any(b.label == "Download GIF" for b in at.get("download_button"))
    assert at.metric and at.metric[0].label == "Distance ratio"  # the memorisation result is still there
    assert "made at step" in made[0], made  # each marked with the step it was made at
    assert any("made at step" in c.value for c in at.caption), [c.value for c in at.caption]


def test_every_download_is_a_file_ready_with_the_page_and_does_not_rerun_it(runs_root, tmp_path):
    # #27 item 10: "Download strip (PNG)" right after "Download GIF" found its file gone (a deferred file that the
    # rerun started by the first click dropped). Each download's bytes are given with the page, and a click
    # downloads without a rerun, so no click can find its file gone.
    at = open_in_explorer(train_tiny_run(tmp_path / "run"))
    at.button(key="explore.make_gif").click().run()
    buttons = {b.label: b.proto for b in at.get("download_button")}
    assert {"Download GIF", "Download strip (PNG)"} <= {label.split(" ·")[0] for label in buttons}, list(buttons)
    for label, proto in buttons.items():
        assert proto.url and not proto.deferred_file_id, f"{label}: no file until clicked"
        assert proto.ignore_rerun, f"{label}: a click reruns the page"
