"""One bad part never fails the live feed's whole answer (issue #27, item 2): after a 2D run, the images part of
a page whose sidebar holds an image data set asked for the run's "real images" and raised, and every refresh of
every part got HTTP 500. Now each part fails alone, with a message its component shows."""

from __future__ import annotations

import json

import pytest

from dashboard import resources
from dashboard.live import feed, messages
from gan_core.config.presets import preset
from gan_core.control.session import TrainingSession
from gan_core.data.datasets import load_dataset

pytestmark = pytest.mark.slow  # each trains a run and loads its data set (3-8 s on 2 cores)

HOST = "127.0.0.1:8501"
WAIT = 60.0
PAGE_PARTS = "status,charts,images"


def toy():
    """toy-ring, small: hundreds of steps a second on a CPU."""
    return preset("toy-ring").with_changes({"data.limit": 512, "model.hidden_dim": 16, "training.batch_size": 32,
                                            "training.eval_every": 0, "training.device": "cpu"})


@pytest.fixture
def session(tmp_path):
    """A session registered with the page's own loaders (the real-image grid included), as app.py does."""
    session = TrainingSession(runs_root=tmp_path / "runs")
    feed.register(session, resources.real_png, None, load_dataset)
    yield session
    session.shutdown()
    feed.register(None, None)


def _finished(session: TrainingSession, config, steps: int = 3) -> None:
    session.start(config, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    session.step(steps)
    assert session.wait_for(lambda s: s.snapshot().step >= steps and s.snapshot().steps_pending == 0, WAIT)
    session.stop()
    assert session.wait_for(lambda s: s.status == "finished", WAIT)


def _all(parts: str = PAGE_PARTS) -> dict:
    query = {"parts": parts, **{name: json.dumps({}) for name in parts.split(",")}}
    return feed.answer("all", query, HOST)["parts"]


def test_the_image_parts_of_a_finished_2d_run_answer_without_real_images(session):
    _finished(session, toy())
    parts = _all()
    assert all("error" not in part for part in parts.values()), parts
    assert parts["status"]["message"]["status"] == "finished" and parts["status"]["message"]["step"] == 3
    assert parts["charts"]["message"]["n"] == 3
    images = parts["images"]["message"]
    assert images["real"] is None  # a 2D set has no image grid of its own: none is asked for
    assert images["grid"]["step"] >= 1  # a scatter of the run's fakes


def test_a_part_that_raises_fails_alone_with_a_message(session, tiny, monkeypatch):
    _finished(session, tiny)

    def broken(*args, **kwargs):
        raise RuntimeError("permute(sparse_coo): as a bad data set raised it")

    monkeypatch.setattr(messages, "image_message", broken)
    parts = _all()
    assert parts["images"] == {"error": "images: not available now (RuntimeError: permute(sparse_coo): as a bad "
                                        "data set raised it)"}
    assert parts["charts"]["message"]["n"] == 3 and parts["status"]["message"]["status"] == "finished"
    # A request the feed refuses is still refused as a whole: the page's own code sent it.
    with pytest.raises(feed.FeedError, match="^charts: must be a JSON object") as refused:
        feed.answer("all", {"parts": "charts,images", "charts": "[1]"}, HOST)
    assert refused.value.status == 400
