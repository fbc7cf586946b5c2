"""The live feed's parts beyond the Training view's charts: the 2D playground's frames, the A/B experiment, the
Runs view's live status and the latent explorer's pictures. Each sends only what the page does not hold, from
what the process holds in memory, and names nothing on disk that a request chose."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from dashboard.live import feed, samples
from dashboard.live.runs_messages import runs_message, this_process
from gan_core.config.presets import preset
from gan_core.control.ab import ABRunner
from gan_core.control.session import TrainingSession
from gan_core.data.datasets import load_dataset
from gan_core.runs.listing import RunSummary

HOST = "127.0.0.1:8501"
WAIT = 60.0


def toy():
    """toy-ring, small: hundreds of steps a second on a CPU."""
    return preset("toy-ring").with_changes({"data.limit": 512, "model.hidden_dim": 16, "training.batch_size": 32,
                                            "training.eval_every": 0, "training.device": "cpu",
                                            "training.checkpoint_every": 5})


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    runner = ABRunner()
    feed.register(session, lambda data: "REAL", runner, load_dataset)
    session.runner = runner
    yield session
    session.shutdown()
    runner.shutdown()
    feed.register(None, None)


def _fetch(part: str, state: dict | None = None, **query) -> dict:
    """One part's answer as the page's hub asks for it: the part's state under the part's own name."""
    return feed.answer("all", {"parts": part, part: json.dumps(state or {}), **query}, HOST)["parts"][part]


def _steps(session: TrainingSession, n: int) -> None:
    target = session.snapshot().step + n
    session.step(n)
    assert session.wait_for(lambda s: s.snapshot().step >= target and s.snapshot().steps_pending == 0, WAIT)


def test_the_playground_part_sends_a_frame_only_when_the_run_moved_on(session):
    session.start(toy(), paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _steps(session, 2)
    first = _fetch("playground")
    frame = first["message"]
    assert frame["step"] == 2 and frame["cells"] == 64 and "real" in frame and first["state"]["step"] == 2
    fake = np.frombuffer(base64.b64decode(frame["fake"]), dtype=np.float32)
    assert fake.size == 2 * 256 and np.isfinite(fake).all()
    same = _fetch("playground", first["state"])
    assert same["message"] == {"seq": frame["seq"], "unchanged": True}  # a paused run costs no frame
    _steps(session, 1)
    moved = _fetch("playground", same["state"])["message"]
    assert moved["step"] == 3 and moved["seq"] == frame["seq"] + 1 and "real" not in moved  # real points once


def test_the_playground_part_has_nothing_to_draw_for_an_image_run(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    assert _fetch("playground")["message"].get("unchanged") is True


def test_the_explorer_parts_make_a_picture_when_the_generator_or_the_request_changed(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _steps(session, 1)
    request = {"seed": 3, "count": 4}
    first = _fetch("explorer_grid", request)
    image = first["message"]["image"]
    assert base64.b64decode(image["png"]).startswith(b"\x89PNG") and image["step"] == 1
    assert image["caption"] == "seeds 3..6 · step 1"
    assert _fetch("explorer_grid", {**first["state"], **request})["message"]["image"] is None  # held already
    wider = _fetch("explorer_grid", {**first["state"], "seed": 3, "count": 16})["message"]["image"]
    assert wider["caption"].startswith("seeds 3..18")  # a new request: a new picture at the same step
    _steps(session, 1)
    assert _fetch("explorer_grid", {**first["state"], **request})["message"]["image"]["step"] == 2
    strip = _fetch("explorer_strip", {"start": 1, "end": 2, "steps": 5, "method": "lerp"})["message"]["image"]
    assert strip["caption"].startswith("lerp, 5 steps from seed 1 to seed 2")
    assert _fetch("explorer_classes", {"seed": 1})["message"]["image"] is None  # an unconditional G has no classes
    for bad, field in (({"count": 5}, "count"), ({"steps": 99}, "steps"), ({"method": "cubic"}, "method")):
        with pytest.raises(feed.FeedError, match=f"^explorer_grid: {field}") as refused:
            _fetch("explorer_grid", bad)
        assert refused.value.status == 400


def test_the_ab_parts_send_each_runs_new_rows_from_the_runners_memory(session, tmp_path):
    runner = session.runner
    runner.start(toy(), "loss.loss", "minimax", "non_saturating", 6, tmp_path / "runs")
    assert runner.wait(WAIT)
    first = _fetch("ab_charts")
    sources = first["message"]["sources"]
    assert sorted(sources) == ["A", "B"] and sources["A"]["n"] == 6 and sources["B"]["n"] == 6
    assert sorted(first["state"]) == ["A", "B"] and first["state"]["A"]["cursor"][1] == 6
    again = _fetch("ab_charts", first["state"])["message"]["sources"]
    assert again["A"]["n"] == 0 and again["B"]["n"] == 0  # nothing new: nothing sent
    only_a = _fetch("ab_charts", {"A": first["state"]["A"]})["message"]["sources"]
    assert only_a["A"]["n"] == 0 and only_a["B"]["n"] == 6  # B's state was lost: B gets everything once
    status = _fetch("ab_status")["message"]
    assert status["phase"] == ["finished"] and status["progress"]["fraction"] == 1.0
    rows = {row[0]: row[1:] for row in status["table"]["rows"]}
    assert rows["step"] == ["6", "6"] and status["table"]["columns"][1] == "A: loss.loss=minimax"
    side = _fetch("ab_b")
    assert side["message"]["step"] == 6 and "real" in side["message"]
    assert _fetch("ab_b", side["state"])["message"].get("unchanged") is True


def test_the_ab_parts_wait_quietly_before_any_experiment(session):
    for part in ("ab_status", "ab_charts", "ab_a", "ab_b"):
        assert _fetch(part)["message"].get("unchanged") is True


def test_the_runs_part_knows_a_tabs_folder_by_its_token_only(session, tiny, tmp_path):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _steps(session, 10)  # checkpoint_every=10
    run = Path(session.snapshot().run_dir)
    feed.watch("tab-token", run.parent, (run.name,))
    first = _fetch("runs", {"watch": "tab-token"})
    message = first["message"]
    checkpoints = message["tables"][0]
    assert checkpoints["title"].startswith("Checkpoints of the current run, step 10")
    assert [row[0] for row in checkpoints["rows"]] == ["step_0000010.pt", "latest.pt"]
    assert message["lines"][0][1].startswith(f"{run.name} · status live · steps 10")
    assert message["phase"] == []  # this server's own run: the status line follows it
    assert _fetch("runs", first["state"])["message"].get("unchanged") is True  # sent again only when it changed
    # A request names no folder: an unknown token gets nothing, and a folder in the state is dropped.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _fetch("runs", {"watch": "guess", "folder": str(elsewhere)})["message"].get("unchanged") is True


def test_the_runs_phase_names_the_runs_other_processes_write(tmp_path):
    def summary(name: str, owner: str | None) -> RunSummary:
        return RunSummary(path=tmp_path / name, name=name, steps=3, status="live", modified=0.0, config={},
                          owner=owner)

    idle = TrainingSession(runs_root=tmp_path / "runs")
    snapshot = idle.snapshot()
    idle.shutdown()
    runs = [summary("cli-run", "pid 1 on host other since 2026-01-01 00:00:00"),
            summary("ours", this_process() + "since 2026-01-01 00:00:00"), summary("no-lock", None)]
    message = runs_message(runs, {}, (), snapshot)
    assert message["phase"] == ["cli-run", "no-lock"]
    assert message["tables"][-1]["rows"] == [["cli-run", 3], ["ours", 3], ["no-lock", 3]]


def test_one_request_can_carry_every_part():
    assert feed._wanted_parts(",".join(reversed(feed.PARTS))) == list(feed.PARTS)
    assert samples.request({"kind": "grid"})["count"] == 16  # the explorer's defaults
