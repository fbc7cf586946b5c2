"""The Runs view's saved grids follow a live run (issue #27, item 9): the feed's runs_grids part sends an opened
run's new saved steps and its newest grid unless the user pinned one, for the tab that registered the folder
(its token), never for a folder or run the request names on its own."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dashboard.live import feed
from gan_core.control.session import TrainingSession

HOST = "127.0.0.1:8501"
WAIT = 60.0


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    feed.register(session, None)
    yield session
    session.shutdown()
    feed.register(None, None)


def _steps(session: TrainingSession, n: int) -> None:
    target = session.snapshot().step + n
    session.step(n)
    assert session.wait_for(lambda s: s.snapshot().step >= target and s.snapshot().steps_pending == 0, WAIT)


def _grids(state: dict, **query) -> dict:
    reply = feed.answer("all", {"parts": "runs_grids", "runs_grids": json.dumps(state), **query}, HOST)
    return reply["parts"]["runs_grids"]


def test_an_opened_runs_saved_grids_follow_the_newest_until_one_is_pinned(session, tiny):
    session.start(tiny, paused=True)  # sample_every=10
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _steps(session, 20)
    run = Path(session.snapshot().run_dir)
    feed.watch("tab-token", run.parent, (run.name,))
    first = _grids({"watch": "tab-token", "open": run.name})
    message = first["message"]
    assert message["steps"] == [10, 20] and message["timeline"]["step"] == 20
    assert base64.b64decode(message["timeline"]["png"]).startswith(b"\x89PNG")
    assert first["state"]["watch"] == "tab-token" and first["state"]["open"] == run.name
    assert _grids(first["state"])["message"]["timeline"] is None  # held already: nothing sent
    _steps(session, 10)
    later = _grids(first["state"])
    assert (later["message"]["steps_start"], later["message"]["steps"]) == (2, [30])
    assert later["message"]["timeline"]["step"] == 30  # the newest, as the run saves it
    pinned = _grids(later["state"], runs_pin="10")
    assert pinned["message"]["timeline"]["step"] == 10
    _steps(session, 10)
    held = _grids(pinned["state"], runs_pin="10")
    assert held["message"]["steps"] == [40] and held["message"]["timeline"] is None  # stays where the user put it


def test_the_part_names_nothing_the_tab_did_not_open(session, tiny, tmp_path):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _steps(session, 10)
    run = Path(session.snapshot().run_dir)
    feed.watch("tab-token", run.parent, ())  # the folder is this tab's, the run is not opened
    assert _grids({"watch": "tab-token", "open": run.name})["message"].get("unchanged") is True
    assert _grids({"watch": "guess", "open": run.name})["message"].get("unchanged") is True
    feed.watch("tab-token", run.parent, (run.name,))
    for name in ("..", f"../{run.parent.name}/{run.name}", str(run)):
        assert _grids({"watch": "tab-token", "open": name})["message"].get("unchanged") is True
    with pytest.raises(feed.FeedError, match="^runs_pin: ") as refused:
        _grids({"watch": "tab-token", "open": run.name}, runs_pin="x")
    assert refused.value.status == 400
