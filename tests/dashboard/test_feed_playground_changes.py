"""The playground shows the run as it was asked to be at once (issue #27, item 11): a live change applied while
paused (minimax: G's pull depends on the loss) is a new frame at the same step, not the frame the browser holds."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from dashboard.live import feed
from gan_core.config.presets import preset
from gan_core.control.session import TrainingSession
from gan_core.data.datasets import load_dataset

HOST = "127.0.0.1:8501"
WAIT = 60.0


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    feed.register(session, None, None, load_dataset)
    yield session
    session.shutdown()
    feed.register(None, None)


def _frame(state: dict | None = None) -> dict:
    reply = feed.answer("all", {"parts": "playground", "playground": json.dumps(state or {})}, HOST)
    return reply["parts"]["playground"]


def _arrows(message: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(message["arrows"]), dtype=np.float32).reshape(-1, 2)


def test_a_loss_applied_while_paused_sends_a_frame_with_its_arrows_at_the_same_step(session):
    config = preset("toy-ring").with_changes({"data.limit": 512, "model.hidden_dim": 16, "training.batch_size": 32,
                                              "training.eval_every": 0, "training.device": "cpu"})
    session.start(config, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    session.step(20)
    assert session.wait_for(lambda s: s.snapshot().step >= 20 and s.snapshot().steps_pending == 0, WAIT)
    first = _frame()
    assert _frame(first["state"])["message"].get("unchanged") is True  # nothing changed: nothing sent
    session.update({"loss.loss": "minimax"})
    assert session.wait_for(lambda s: s.snapshot().config.loss.loss == "minimax", WAIT)
    after = _frame(first["state"])
    message = after["message"]
    assert not message.get("unchanged"), "the frame of the non-saturating loss was kept after minimax was applied"
    assert message["step"] == first["message"]["step"] == 20
    # minimax pulls each fake by D(G(z)) times the non-saturating pull's 1 - D(G(z)): other arrows.
    assert not np.allclose(_arrows(message), _arrows(first["message"]))
    assert _frame(after["state"])["message"].get("unchanged") is True
