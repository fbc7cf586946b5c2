"""Issue #10, run directories: ownership lock, pruning, checkpoint-less resume, temp files, racing starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from gan_core.cli.main import main as cli
from gan_core.control.session import TrainingSession
from gan_core.engine.trainer import Trainer
from gan_core.record.live_quality import LiveEvaluation
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.recorder import RunRecorder
from gan_core.runs.listing import list_runs, summarize_run
from gan_core.runs.lock import release_run_lock, run_owner
from gan_core.runs.paths import RunPaths, checkpoint_files, list_checkpoints, read_events, sample_grids

pytestmark = pytest.mark.timeout(120)


def _recorded_run(config, root, steps):
    """A closed run directory with `steps` steps recorded (checkpoints every 10)."""
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=root))
    for _ in range(steps):
        recorder.record(trainer.step())
    recorder.close()
    return recorder.paths


def _write_lock(root, pid, host=None):
    (root / "owner.lock").write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(),
                                                 "time": 1.0}))


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ---- 1. one owner per run directory -----------------------------------------------------

def test_resume_is_refused_while_another_live_process_owns_the_run(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 10)
    _write_lock(paths.root, os.getppid())  # a live process on this host
    rows_before = paths.metrics.read_text()
    with pytest.raises(ValueError, match=rf"pid {os.getppid()} on host {socket.gethostname()}"):
        open_run_for_resume(paths.root)
    assert paths.metrics.read_text() == rows_before  # nothing cut while refused
    session = TrainingSession(runs_root=tmp_path / "runs")
    with pytest.raises(ValueError, match="in use by pid"):
        session.resume_run(paths.root)
    assert session.status == "idle"
    summary = summarize_run(paths.root)
    assert summary.owner is not None and str(os.getppid()) in summary.owner and summary.status == "live"


def test_a_lock_from_another_host_is_never_taken_over(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 10)
    _write_lock(paths.root, _dead_pid(), host="elsewhere.example")
    with pytest.raises(ValueError, match="on host elsewhere.example"):
        open_run_for_resume(paths.root)


def test_a_stale_lock_of_a_dead_pid_on_this_host_is_recovered(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 10)
    _write_lock(paths.root, _dead_pid())
    assert run_owner(paths.root) is None
    trainer, _ = open_run_for_resume(paths.root)
    assert trainer.step_count == 10
    assert str(os.getpid()) in run_owner(paths.root)  # now ours
    release_run_lock(paths.root)
    assert run_owner(paths.root) is None and not (paths.root / "owner.lock").exists()


def test_session_owns_its_run_until_it_stops(tiny, tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    try:
        run_dir = session.start(tiny, paused=True)
        assert str(os.getpid()) in run_owner(run_dir)
        with pytest.raises(ValueError, match="in use by pid"):
            open_run_for_resume(run_dir)  # a second writer in the same process is refused too
        assert [s.status for s in list_runs(tmp_path / "runs")] == ["live"]
        session.stop()
        assert session.wait_for(lambda s: s.status == "finished", 30)
        assert run_owner(run_dir) is None
        second = TrainingSession(runs_root=tmp_path / "runs")
        assert second.resume_run(run_dir, paused=True) == run_dir
        second.shutdown()
    finally:
        session.shutdown()


def test_a_failed_run_releases_its_lock(tiny, tmp_path, monkeypatch):
    session = TrainingSession(runs_root=tmp_path / "runs")

    def explode(self, update="both"):
        raise RuntimeError("boom")

    monkeypatch.setattr(Trainer, "step", explode)
    run_dir = session.start(tiny)
    assert session.wait_for(lambda s: s.status == "failed", 30)
    assert run_owner(run_dir) is None
    session.shutdown()


def test_cli_resume_of_an_owned_run_exits_2_naming_the_owner(tiny, tmp_path, capsys):
    assert cli(["train", "--preset", "seed-mlp", "--set", "data.limit=200", "--set", "device=cpu",
                "--set", "batch_size=16", "--set", "eval_every=0", "--steps", "3", "--quiet",
                "--run-dir", str(tmp_path / "r")]) == 0
    assert run_owner(tmp_path / "r") is None  # released at the end
    _write_lock(tmp_path / "r", os.getppid())
    capsys.readouterr()
    assert cli(["train", "--resume", str(tmp_path / "r"), "--steps", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"pid {os.getppid()}" in err and len(err.strip().splitlines()) == 1


# ---- 3. pruning and listing -------------------------------------------------------------

def test_pruning_matches_whole_names_and_sorts_by_step(tiny, tmp_path):
    trainer = Trainer(tiny)
    paths = create_run_dir(tiny, run_dir=tmp_path / "r")
    keep = paths.checkpoints / "keep_step_0000100.pt"
    keep.write_bytes(b"user file")
    recorder = RunRecorder(trainer, paths, keep_checkpoints=2)
    for step in (9_999_980, 9_999_990, 10_000_000, 10_000_010):
        trainer.step_count = step
        recorder.save_checkpoint()
    recorder.close()
    assert [p.name for p in list_checkpoints(paths)] == ["step_10000000.pt", "step_10000010.pt"]
    assert keep.exists()
    assert paths.latest.samefile(paths.checkpoints / "step_10000010.pt")


def test_a_manual_save_never_pushes_out_an_automatic_checkpoint(tiny, tmp_path):
    trainer = Trainer(tiny)
    recorder = RunRecorder(trainer, create_run_dir(tiny, run_dir=tmp_path / "r"), keep_checkpoints=2)
    for _ in range(25):
        recorder.record(trainer.step())
    manual = recorder.save_checkpoint(manual=True)
    recorder.close()
    paths = recorder.paths
    assert manual.name == "manual_0000025.pt" and paths.latest.samefile(manual)
    assert [p.name for p in list_checkpoints(paths)] == ["step_0000010.pt", "step_0000020.pt"]
    (paths.checkpoints / "best.pt").write_bytes(manual.read_bytes())
    recorder.events = type(recorder.events)(paths.events)
    recorder.events.append("best", 20, fid=1.0)
    recorder.events.close()
    assert [(step, p.name) for step, p in checkpoint_files(paths)] == [
        (10, "step_0000010.pt"), (20, "best.pt"), (20, "step_0000020.pt"), (25, "manual_0000025.pt")]


def test_session_save_now_writes_a_manual_checkpoint(tiny, tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    try:
        run_dir = session.start(tiny, paused=True)
        session.step(3)
        assert session.wait_for(lambda s: s.snapshot().step == 3 and s.status == "paused", 30)
        session.save_checkpoint()
        assert session.wait_for(lambda s: s.snapshot().last_checkpoint_step == 3, 30)
        assert (RunPaths(run_dir).checkpoints / "manual_0000003.pt").is_file()
    finally:
        session.shutdown()


def test_sample_grids_skip_names_that_are_not_step_numbers(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 20)
    (paths.samples / "step_final.png").write_bytes(b"x")
    (paths.samples / "step_0000030.png").mkdir()  # a folder with a grid's name is not a grid
    with open(paths.samples / "step_0000040.png", "wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MB declared, far larger than any grid of ours
    assert [(step, p.name) for step, p in sample_grids(paths)] == [(10, "step_0000010.png"),
                                                                  (20, "step_0000020.png")]


# ---- 4 and 5. a run killed early; temp files left by a kill ------------------------------

def test_a_run_killed_before_its_first_checkpoint_resumes_from_its_config(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 5)  # checkpoint_every is 10: no checkpoint yet
    assert not paths.latest.exists() and summarize_run(paths.root).steps == 5
    trainer, _ = open_run_for_resume(paths.root)
    release_run_lock(paths.root)
    assert trainer.step_count == 0 and summarize_run(paths.root).steps == 0  # the 5 rows will be redone
    assert cli(["train", "--resume", str(paths.root), "--steps", "12", "--quiet"]) == 0
    assert summarize_run(paths.root).steps == 12 and paths.latest.exists()


def test_temp_files_left_by_a_kill_are_removed_when_the_run_is_opened(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 10)
    leftovers = [paths.checkpoints / name for name in
                 (".step_0000020.pt.k2j3.tmp", ".latest.pt.4242.tmp", ".best.pt.x1y2.tmp")]
    for path in leftovers:
        path.write_bytes(b"half a checkpoint")
    mine = paths.checkpoints / "notes.tmp"
    mine.write_text("a user's file")
    open_run_for_resume(paths.root)
    release_run_lock(paths.root)
    assert not any(path.exists() for path in leftovers) and mine.exists()


# ---- 12. racing starts ------------------------------------------------------------------

def test_racing_starts_create_exactly_one_run_directory(tiny, tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def start():
        barrier.wait()
        try:
            session.start(tiny, paused=True)
            outcomes.append("started")
        except RuntimeError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.shutdown()
    assert sorted(outcomes) == ["refused"] * 5 + ["started"]
    assert len(list((tmp_path / "runs").iterdir())) == 1


# ---- 2. best.pt after a resume ----------------------------------------------------------

class _FakeEvaluator:
    """Scores every sample set with a fixed FID, so the test controls which model is 'better'."""

    def __init__(self, fid):
        self.fid = fid

    def score(self, images):
        return {"fid": self.fid, "classes_covered": 10, "kl_uniform": 0.0, "precision": 1.0, "recall": 1.0,
                "diversity": 1.0}


def test_best_pt_is_not_replaced_by_a_worse_model_after_a_resume(tiny, tmp_path):
    paths = _recorded_run(tiny, tmp_path / "r", 20)
    paths.quality.write_text("step,fid,classes_covered,kl_uniform,precision,recall,diversity,eval_s\n"
                             "10,12.5,10,0,1,1,1,0.1\n20,30.0,10,0,1,1,1,0.1\n")
    paths.best.write_bytes(paths.step_checkpoint(10).read_bytes())
    best_before = paths.best.read_bytes()
    trainer, _ = open_run_for_resume(paths.root)
    release_run_lock(paths.root)
    live = LiveEvaluation(trainer, paths.root, every=10, samples=10)
    assert live.best_score == 12.5
    live.evaluator, live.reference = _FakeEvaluator(20.0), {"fid": 1.0}
    row = live.evaluate()
    live.close()
    assert row["best"] is False and paths.best.read_bytes() == best_before
    assert [e for e in read_events(paths.events) if e.get("kind") == "best"] == []
