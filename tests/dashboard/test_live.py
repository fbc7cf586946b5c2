"""What one refresh of the live page sends: only the rows, events, quality rows and grids that are new."""

from __future__ import annotations

import base64
import math

import numpy as np
import pytest

from dashboard.live import messages as live
from dashboard.ui.text import plain
from gan_core.control.session import TrainingSession
from gan_core.runs.paths import RunPaths, sample_grids

WAIT = 60.0


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    yield session
    session.shutdown()


def _steps(message) -> list[int]:
    return np.frombuffer(base64.b64decode(message["cols"]["step"]), dtype=np.float32).astype(int).tolist() \
        if message["n"] else []


def _step_and_wait(session, n: int) -> None:
    target = session.snapshot().step + n
    session.step(n)
    assert session.wait_for(lambda s: s.snapshot(since=(0, 10**9)).step >= target and
                            s.snapshot(since=(0, 10**9)).steps_pending == 0, WAIT)


def test_chart_messages_carry_only_the_rows_events_and_quality_not_sent_before(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 3)
    first, sent = live.chart_message(session.snapshot(since=0), {})
    assert (first["start"], first["n"], _steps(first)) == (0, 3, [1, 2, 3])
    assert first["events"] == [] and first["events_start"] == 0  # start/checkpoint are not chart markers

    _step_and_wait(session, 2)
    session.update({"optimizer.lr_g": 1e-3})
    _step_and_wait(session, 1)
    second, sent = live.chart_message(session.snapshot(since=sent["cursor"]), sent)
    assert (second["start"], second["n"], _steps(second)) == (3, 3, [4, 5, 6])
    assert second["events_start"] == 0 and [e["kind"] for e in second["events"]] == ["update"]
    assert "optimizer.lr_g=0.001" in second["events"][0]["detail"]

    third, sent = live.chart_message(session.snapshot(since=sent["cursor"]), sent)
    assert (third["start"], third["n"], third["cols"], third["events"]) == (6, 0, {}, [])
    assert third["seq"] == second["seq"] + 1


def test_a_lost_tab_state_or_a_new_run_resends_from_the_start(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 4)
    _, sent = live.chart_message(session.snapshot(since=0), {})
    again, _ = live.chart_message(session.snapshot(since={}.get("cursor", 0)), {})  # a resync: sent = {}
    assert (again["start"], again["n"]) == (0, 4)
    session.stop()
    assert session.wait_for(lambda s: s.status == "finished", WAIT)
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 1)
    fresh, _ = live.chart_message(session.snapshot(since=sent["cursor"]), sent)
    assert fresh["run"] != sent["run"] and (fresh["start"], fresh["n"], fresh["events_start"]) == (0, 1, 0)


def test_quality_rows_travel_once_and_non_finite_values_as_null(session, tiny):
    snapshot = session.snapshot(since=0)
    rows = ({"step": 5.0, "fid": 12.5, "precision": 0.5, "recall": math.nan, "classes_covered": 9.0},
            {"step": 10.0, "fid": 11.0, "precision": 0.6, "recall": 0.4, "classes_covered": 10.0})
    import dataclasses

    first, sent = live.chart_message(dataclasses.replace(snapshot, quality=rows[:1],
                                                         quality_reference={"fid": 0.9}), {})
    assert first["quality"]["recall"] == [None] and first["reference_fid"] == 0.9
    second, _ = live.chart_message(dataclasses.replace(snapshot, quality=rows), sent)
    assert second["quality_start"] == 1 and second["quality"]["step"] == [10.0]


def test_image_messages_send_a_grid_only_when_a_new_one_exists(session, tiny):
    session.start(tiny, paused=True)  # sample_every=10 in the tiny config
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 10)
    real_calls = []

    def real_png(data):
        real_calls.append(data)
        return "REAL"

    first, sent = live.image_message(session.snapshot(), {}, real_png, None)
    assert first["grid"]["step"] == 10 and first["real"] == {"png": "REAL"}
    assert first["steps"] == [10] and first["timeline"]["step"] == 10
    assert base64.b64decode(first["grid"]["png"]).startswith(b"\x89PNG")
    second, sent = live.image_message(session.snapshot(), sent, real_png, None)
    assert second["grid"] is None and second["real"] is None and second["timeline"] is None
    assert second["steps"] == [] and len(real_calls) == 1
    _step_and_wait(session, 10)
    third, sent = live.image_message(session.snapshot(), sent, real_png, {"step": 10, "pinned": True})
    assert third["grid"]["step"] == 20 and third["steps_start"] == 1 and third["steps"] == [20]
    assert third["timeline"] is None  # pinned at step 10, which this tab already holds
    fourth, _ = live.image_message(session.snapshot(), sent, real_png, {"step": 20, "pinned": False})
    assert fourth["timeline"]["step"] == 20


def test_saved_grid_listing_ignores_names_that_are_not_steps(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("step_0000010.png", "step_final.png", "keep_step_0000020.png", "step_0000005.png"):
        (samples / name).write_bytes(b"\x89PNG")
    (samples / "step_0000030.png").mkdir()
    assert [step for step, _ in sample_grids(RunPaths(tmp_path))] == [5, 10]


def status_line(snapshot) -> str:
    """The status line as the status component shows it, as one line of text."""
    message = live.status_message(snapshot)
    return " · ".join([f"Status {message['status']}", f"step {message['step']}", *message["parts"]])


def test_status_line_shows_wall_rates_and_what_the_thread_is_busy_with(session, tiny):
    import dataclasses

    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    paused = session.snapshot(since=0)
    assert "steps/s" not in status_line(paused) and paused.steps_per_s is None
    running = dataclasses.replace(paused, status="running", steps_per_s=20.0, images_per_s=320.0,
                                  elapsed_s=100.0, train_s=60.0, activity="writing a checkpoint")
    line = status_line(running)
    assert "20.0 steps/s · 320 images/s" in line and "elapsed 0:01:40 (in steps 0:01:00)" in line
    assert line.endswith("busy: writing a checkpoint")


def test_session_rate_is_steps_over_wall_time(session, tiny):
    session.start(tiny)
    assert session.wait_for(lambda s: s.snapshot(since=(0, 10**9)).elapsed_s >= 1.0, WAIT)
    snapshot = session.snapshot(since=(0, 10**9))
    assert snapshot.steps_per_s is not None and snapshot.steps_per_s > 0
    batch = tiny.training.batch_size * tiny.optimizer.d_steps_per_g_step
    assert snapshot.images_per_s == pytest.approx(snapshot.steps_per_s * batch)
    # The rate cannot exceed the steps taken over the wall time elapsed since the start.
    assert snapshot.steps_per_s <= snapshot.step / max(snapshot.elapsed_s - 0.5, 1e-3)


def test_plain_text_cannot_become_markdown():
    hostile = "![t](https://host/x.png) `code` <b>x</b> :red[alarm] $x$ [link](http://h)"
    escaped = plain(hostile)
    for token in ("![", "](", "`c", "<b", ":red[", "$x", "[l"):
        assert token not in escaped.replace("\\", "\\\\").replace("\\\\" + token[0], "")
    assert all(f"\\{char}" in escaped for char in "![]()`<>:$")
    assert len(plain("x" * 1000, limit=50)) <= 50 * 2


def test_plain_text_breaks_bare_addresses_that_markdown_would_link():
    escaped = plain("see http://example.com/x, https://a.b, www.c.d and me@mail.org")
    unescaped = escaped.replace("\\", "")
    for address in ("http://", "https://", "www.", "me@"):
        assert address not in unescaped  # an invisible word joiner sits inside each
    assert unescaped.replace("\u2060", "") == "see http://example.com/x, https://a.b, www.c.d and me@mail.org"
