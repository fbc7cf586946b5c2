import math
import random
import threading
import time

import pytest
import torch

from gan_core.control.session import TrainingSession
from gan_core.engine.trainer import Trainer
from gan_core.runs.checkpoint import load_checkpoint
from gan_core.runs.paths import RunPaths, read_events

pytestmark = pytest.mark.timeout(120)  # a hang fails instead of blocking CI

WAIT = 30.0


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    yield session
    session.shutdown()


def _wait(session, predicate, what):
    assert session.wait_for(predicate, WAIT), f"timed out waiting for {what}; status {session.status}"


def _step(session):
    return session.snapshot().step


def test_start_pause_resume_stop(session, tiny):
    run_dir = session.start(tiny)
    _wait(session, lambda s: _step(s) >= 5, "5 steps")
    session.pause()
    _wait(session, lambda s: s.status == "paused", "paused")
    held = _step(session)
    time.sleep(0.3)
    assert _step(session) == held  # the counter does not move while paused
    session.resume()
    _wait(session, lambda s: _step(s) > held, "progress after resume")
    session.stop()
    _wait(session, lambda s: s.status == "finished", "finished")
    kinds = [e["kind"] for e in session.snapshot().events]
    assert kinds[0] == "start" and "pause" in kinds and "resume" in kinds and kinds[-1] == "stop"
    assert [e["kind"] for e in read_events(RunPaths(run_dir).events)] == kinds
    with pytest.raises(RuntimeError, match="paused run"):
        session.step(1)


def test_start_while_active_is_refused(session, tiny):
    session.start(tiny, paused=True)
    with pytest.raises(RuntimeError, match="already paused"):
        session.start(tiny)


def test_step_n_while_paused_advances_exactly_n(session, tiny):
    session.start(tiny, paused=True)
    _wait(session, lambda s: s.status == "paused", "paused")
    assert _step(session) == 0
    session.step(3)
    _wait(session, lambda s: _step(s) == 3 and s.snapshot().steps_pending == 0, "3 steps")
    time.sleep(0.3)
    snap = session.snapshot(since=0)
    assert snap.step == 3 and snap.status == "paused" and [r[0] for r in snap.rows] == [1, 2, 3]


def test_stop_is_idempotent_and_leaves_a_loadable_checkpoint(session, tiny):
    run_dir = session.start(tiny)
    _wait(session, lambda s: _step(s) >= 3, "3 steps")
    session.stop()
    session.stop()
    _wait(session, lambda s: s.status == "finished", "finished")
    session.stop()
    state = load_checkpoint(RunPaths(run_dir).latest)
    assert state["step"] == session.snapshot().step
    assert [e["kind"] for e in session.snapshot().events].count("stop") == 1


def test_update_changes_the_learning_rate_at_the_next_step(session, tiny):
    run_dir = session.start(tiny, paused=True)
    _wait(session, lambda s: s.status == "paused", "paused")
    session.update({"optimizer.lr_g": 1e-3, "loss.loss": "least_squares"})
    session.step(1)
    _wait(session, lambda s: _step(s) == 1, "1 step")
    columns = session.snapshot().columns
    row = session.snapshot(since=0).rows[0]
    assert row[columns.index("lr_g")] == 1e-3
    update = [e for e in read_events(RunPaths(run_dir).events) if e["kind"] == "update"][0]
    assert update["step"] == 0 and update["changes"] == {"optimizer.lr_g": 1e-3, "loss.loss": "least_squares"}
    with pytest.raises(ValueError, match="batch_size"):
        session.update({"training.batch_size": 4})
    with pytest.raises(ValueError, match="optimizer.lr_g"):
        session.update({"optimizer.lr_g": 5.0})


def test_non_finite_loss_pauses_keeps_checkpoint_and_resumes_from_it(session, tiny, monkeypatch):
    run_dir = session.start(tiny)  # checkpoint_every=10
    _wait(session, lambda s: s.snapshot().last_checkpoint_step >= 10, "a checkpoint")
    paths = RunPaths(run_dir)
    real_step = Trainer.step

    def poisoned(trainer, update="both"):
        row = real_step(trainer, update)
        with torch.no_grad():
            for parameter in trainer.generator.parameters():
                parameter.fill_(float("nan"))
        return {**row, "g_loss": float("nan")}

    session.pause()
    _wait(session, lambda s: s.status == "paused", "paused")
    good = load_checkpoint(paths.latest)
    monkeypatch.setattr(Trainer, "step", poisoned)
    session.step(1)
    _wait(session, lambda s: s.snapshot().diverged, "non-finite loss")
    snap = session.snapshot(since=0)
    nonfinite = [e for e in snap.events if e["kind"] == "nonfinite"]
    assert snap.status == "paused" and nonfinite[0]["message"] == f"non-finite loss at step {snap.step}"
    assert torch.equal(load_checkpoint(paths.latest)["generator"]["net.0.weight"], good["generator"]["net.0.weight"])
    monkeypatch.setattr(Trainer, "step", real_step)
    session.update({"optimizer.lr_g": 1e-4})
    session.resume()
    _wait(session, lambda s: not s.snapshot().diverged and _step(s) > good["step"] + 2, "restored run")
    assert not any(torch.isnan(p).any() for p in session.generator().parameters())
    snap = session.snapshot(since=0)
    assert snap.rows[-1][snap.columns.index("lr_g")] == 1e-4  # the optimizer's own rate, logged each step
    g_loss = snap.columns.index("g_loss")
    assert all(math.isfinite(row[g_loss]) for row in snap.rows[good["step"]:])  # G's weights are finite again
    session.stop()
    _wait(session, lambda s: s.status == "finished", "finished")
    steps = [r[0] for r in session.snapshot(since=0).rows]
    assert steps == list(range(1, len(steps) + 1))


def test_exception_in_the_step_sets_failed_with_its_message(session, tiny, monkeypatch):
    session.start(tiny, paused=True)
    _wait(session, lambda s: s.status == "paused", "paused")

    def broken(trainer, update="both"):
        raise RuntimeError("out of memory on purpose")

    monkeypatch.setattr(Trainer, "step", broken)
    session.step(1)
    _wait(session, lambda s: s.status == "failed", "failed")
    snap = session.snapshot(since=0)
    assert snap.error == "RuntimeError: out of memory on purpose"
    assert snap.events[-1]["kind"] == "failed"
    session.start(tiny, paused=True)  # a failed run does not block the next one
    assert session.status == "paused"


def test_generator_copy_is_independent_and_in_eval_mode(session, tiny):
    session.start(tiny, paused=True)
    _wait(session, lambda s: s.status == "paused", "paused")
    copy = session.generator()
    assert not copy.training
    before = [p.clone() for p in copy.parameters()]
    session.step(2)
    _wait(session, lambda s: _step(s) == 2, "2 steps")
    assert all(torch.equal(a, b) for a, b in zip(before, copy.parameters()))
    trained = session.generator()
    assert trained is not copy  # the live weights moved on; the copy taken before did not
    assert not all(torch.equal(a, b) for a, b in zip(before, trained.parameters()))


def test_snapshot_since_returns_only_new_rows(session, tiny):
    session.start(tiny, paused=True)
    _wait(session, lambda s: s.status == "paused", "paused")
    session.step(4)
    _wait(session, lambda s: _step(s) == 4, "4 steps")
    first = session.snapshot(since=0)
    session.step(2)
    _wait(session, lambda s: _step(s) == 6, "6 steps")
    second = session.snapshot(since=first.cursor)
    assert [r[0] for r in second.rows] == [5, 6] and not second.reset
    assert second.grid is not None and second.grid.dtype.name == "uint8"


def test_resume_run_continues_from_latest(session, tiny, tmp_path):
    run_dir = session.start(tiny)
    _wait(session, lambda s: _step(s) >= 12, "12 steps")
    session.stop()
    _wait(session, lambda s: s.status == "finished", "finished")
    stopped_at = session.snapshot().step
    session.resume_run(run_dir, paused=True)
    snap = session.snapshot(since=0)
    assert snap.step == stopped_at and len(snap.rows) == stopped_at and snap.status == "paused"


@pytest.mark.slow
def test_stress_eight_threads(session, tiny):
    session.start(tiny.with_changes({"training.checkpoint_every": 50}))
    stop_at = time.monotonic() + 3.0
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        cursor = 0
        while time.monotonic() < stop_at:
            action = rng.choice(["pause", "resume", "step", "update", "snapshot", "generator"])
            try:
                if action == "pause":
                    session.pause()
                elif action == "resume":
                    session.resume()
                elif action == "step":
                    session.step(rng.randint(1, 3))
                elif action == "update":
                    session.update({"optimizer.lr_d": rng.choice([1e-4, 2e-4]),
                                    "optimizer.d_steps_per_g_step": rng.randint(1, 2)})
                elif action == "generator":
                    session.generator()
                else:
                    cursor = session.snapshot(since=cursor).cursor
            except RuntimeError as error:  # step() while not paused is refused, as documented
                if "paused run" not in str(error):
                    errors.append(error)
            except Exception as error:  # noqa: BLE001 - the test reports any other failure
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "deadlock: a worker never finished"
    assert not errors, errors
    session.resume()
    session.stop()
    _wait(session, lambda s: s.status == "finished", "finished")
    snap = session.snapshot(since=0)
    steps = [r[0] for r in snap.rows]
    assert steps == list(range(1, snap.step + 1))  # no lost or duplicated rows
    paths = RunPaths(snap.run_dir)
    from gan_core.runs.metrics import read_metrics

    assert read_metrics(paths.metrics)["step"].tolist() == steps
    assert load_checkpoint(paths.latest)["step"] == snap.step


@pytest.mark.slow
def test_a_speed_limit_paces_steps_and_costs_nothing_when_lifted(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", 30)
    with pytest.raises(ValueError, match=r"steps_per_s=0 is invalid: allowed None \(no limit\) or a number from 0.1"):
        session.set_speed_limit(0)
    session.set_speed_limit(5.0)
    assert session.speed_limit == 5.0
    session.resume()
    time.sleep(2.0)
    session.pause()
    assert session.wait_for(lambda s: s.status == "paused", 30)
    snapshot = session.snapshot(since=0)
    paced, time_s, wall = snapshot.rows, snapshot.columns.index("time_s"), snapshot.columns.index("wall_time")
    # 5 steps a second for ~2 s: about 10 steps (the first is due at once), never hundreds.
    assert 6 <= len(paced) <= 12, len(paced)
    # A step's start: its row's wall time (at the step's end, 3 decimals) less the time inside it.
    starts = [b[wall] - (b[time_s] - a[time_s]) for a, b in zip(paced, paced[1:])]
    # 1/5 s apart; the estimate of a start can be late by however long the thread waited to run (a loaded
    # machine), which shortens the next gap: without the limit they would be milliseconds apart.
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.15
    session.set_speed_limit(None)
    session.step(50)  # no limit: 50 steps take far less than 10 s at 5/s
    assert session.wait_for(lambda s: s.snapshot().steps_pending == 0 and s.snapshot().step >= len(paced) + 50, 5)
