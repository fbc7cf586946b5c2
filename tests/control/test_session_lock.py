"""No disk work under the session's lock: while the training thread writes a manual checkpoint or restores the
last good state (a disk made slow: every fsync sleeps 1 s), pause(), stop() and snapshot() return at once.
And snapshot() copies only what is new: no rows unless the caller gives a cursor."""

from __future__ import annotations

import os
import threading
import time

import pytest
import torch

from gan_core.control.session import TrainingSession
from gan_core.engine.trainer import Trainer
from tests.support.configs import tiny_config

WAIT = 60
SLOW_FSYNC_S = 1.0
QUICK_S = 0.005  # what each control call takes while the disk is busy (the best of three tries)
NEVER_S = 0.25  # what no single try may take: well under one slowed fsync (a loaded machine may deschedule us)


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    yield session
    session.shutdown()


@pytest.fixture
def slow_disk(monkeypatch):
    """Every fsync sleeps SLOW_FSYNC_S; `entered` is set when the first one starts."""
    entered = threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd):
        entered.set()
        time.sleep(SLOW_FSYNC_S)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    return entered


def _time_controls(session) -> dict[str, list[float]]:
    """Seconds each of three tries of snapshot(), pause() and stop() took (stop last: it ends the run; calling
    it again does nothing)."""
    took: dict[str, list[float]] = {}
    for name, call in (("snapshot", lambda: session.snapshot(since=0)), ("pause", session.pause),
                       ("stop", session.stop)):
        for _ in range(3):
            started = time.perf_counter()
            call()
            took.setdefault(name, []).append(time.perf_counter() - started)
    return took


def _assert_quick(took: dict[str, list[float]]) -> None:
    assert all(min(times) < QUICK_S and max(times) < NEVER_S for times in took.values()), took


@pytest.mark.slow
def test_controls_return_at_once_while_a_manual_checkpoint_is_written(session, slow_disk):
    session.start(tiny_config(checkpoint_every=10_000, sample_every=10_000), paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    session.step(3)
    assert session.wait_for(lambda s: s.snapshot().step == 3 and s.snapshot().steps_pending == 0, WAIT)
    slow_disk.clear()  # creating the run directory synced config.json
    session.save_checkpoint()
    assert slow_disk.wait(WAIT)  # the thread is inside the checkpoint's fsync now
    _assert_quick(_time_controls(session))
    assert session.snapshot().activity == "writing a checkpoint" or session.status == "stopping"
    assert session.wait_for(lambda s: s.status == "finished", WAIT)
    assert session.snapshot().last_checkpoint_step == 3


def test_controls_return_at_once_while_the_last_good_state_is_restored(session, monkeypatch):
    session.start(tiny_config(checkpoint_every=5, sample_every=10_000), paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    session.step(6)
    assert session.wait_for(lambda s: s.snapshot().step == 6 and s.snapshot().steps_pending == 0, WAIT)
    real_step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda trainer, update="both": {**real_step(trainer, update),
                                                                          "d_loss": float("nan")})
    session.step(1)
    assert session.wait_for(lambda s: s.snapshot().diverged, WAIT)
    monkeypatch.setattr(Trainer, "step", real_step)
    entered = threading.Event()
    real_load = torch.load

    def slow_load(*args, **kwargs):  # the restore reads latest.pt back: make that read slow
        entered.set()
        time.sleep(SLOW_FSYNC_S)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", slow_load)
    session.resume()
    assert entered.wait(WAIT)  # the thread is restoring
    _assert_quick(_time_controls(session))
    assert session.wait_for(lambda s: s.status == "finished", WAIT)


def test_snapshot_copies_no_rows_unless_given_a_cursor(session):
    session.start(tiny_config(), paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    session.step(5)
    assert session.wait_for(lambda s: s.snapshot().step == 5 and s.snapshot().steps_pending == 0, WAIT)
    latest = session.snapshot()
    assert latest.rows == () and latest.cursor[1] == 5
    assert [row[0] for row in session.snapshot(since=0).rows] == [1, 2, 3, 4, 5]
    session.step(2)
    assert session.wait_for(lambda s: s.snapshot().step == 7 and s.snapshot().steps_pending == 0, WAIT)
    assert [row[0] for row in session.snapshot(since=latest.cursor).rows] == [6, 7]
