"""Issue #24 item 4: a crafted owner.lock is vetted field by field; it never breaks the Runs view, a pid no
process can have is stale, and a lock that is a folder makes its run unreadable and refuses a resume."""

from __future__ import annotations

import json
import os
import socket

import pytest

from gan_core.cli.main import main as cli
from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.recorder import RunRecorder
from gan_core.runs.admin import delete_refusal, delete_run
from gan_core.runs.listing import list_runs, summarize_run
from gan_core.runs.lock import release_run_lock, run_owner

pytestmark = pytest.mark.timeout(120)


def _finished_run(config, root, steps=10):
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=root))
    for _ in range(steps):
        recorder.record(trainer.step())
    recorder.finish("finish")
    return recorder.paths


def _write_lock(root, **fields):
    owner = {"pid": 12345, "host": "elsewhere.example", "time": 1.0, **fields}
    (root / "owner.lock").write_text(json.dumps(owner))  # json writes NaN and Infinity as Python reads them


@pytest.mark.parametrize("time_value", [1e20, float("nan"), -1e18, float("inf"), "yesterday", True])
def test_a_lock_with_a_bad_time_makes_its_run_unreadable_and_the_rest_listed(tiny, tmp_path, time_value):
    good = _finished_run(tiny, tmp_path / "runs" / "good")
    bad = _finished_run(tiny, tmp_path / "runs" / "bad")
    _write_lock(bad.root, time=time_value)
    runs = {s.path.name: s for s in list_runs(tmp_path / "runs")}
    assert runs["good"].status == "finished"
    assert runs["bad"].status == "unreadable" and "owner.lock" in runs["bad"].reason and "time" in runs["bad"].reason
    assert delete_refusal(tmp_path / "runs", bad.root) is None  # not a live owner of ours: may be deleted
    with pytest.raises(ValueError, match="owner.lock"):
        open_run_for_resume(bad.root)
    assert (bad.root / "owner.lock").exists()  # never taken over
    delete_run(tmp_path / "runs", bad.root)
    assert not bad.root.exists() and good.root.exists()


@pytest.mark.parametrize("fields, problem", [
    ({"pid": "12345"}, "pid"), ({"pid": 1.5}, "pid"), ({"pid": True}, "pid"), ({"host": 7}, "host"),
    ({"host": ""}, "host"),
    ({"host": "h" * 300}, "host"),
])
def test_a_lock_with_bad_fields_is_unreadable(tiny, tmp_path, fields, problem):
    paths = _finished_run(tiny, tmp_path / "r")
    _write_lock(paths.root, **fields)
    summary = summarize_run(paths.root)
    assert summary.status == "unreadable" and problem in summary.reason


def test_cli_resume_of_a_run_with_a_crafted_lock_exits_2_in_one_line(tiny, tmp_path, capsys):
    paths = _finished_run(tiny, tmp_path / "r")
    _write_lock(paths.root, time=1e20)
    capsys.readouterr()
    assert cli(["train", "--resume", str(paths.root), "--steps", "12", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "owner.lock" in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("pid", [0, -1, 2**70, 2**31])
def test_a_pid_no_process_can_have_is_a_stale_lock(tiny, tmp_path, pid):
    paths = _finished_run(tiny, tmp_path / "r")
    _write_lock(paths.root, pid=pid, host=socket.gethostname(), time=1.0)
    assert run_owner(paths.root) is None and summarize_run(paths.root).status == "finished"
    trainer, _ = open_run_for_resume(paths.root)  # recovered
    assert trainer.step_count == 10 and str(os.getpid()) in run_owner(paths.root)
    release_run_lock(paths.root)
    assert not (paths.root / "owner.lock").exists()


def test_a_lock_that_is_a_folder_makes_the_run_unreadable_and_refuses_a_resume(tiny, tmp_path, capsys):
    paths = _finished_run(tiny, tmp_path / "runs" / "r")
    (paths.root / "owner.lock").mkdir()
    (paths.root / "owner.lock" / "inside").write_text("kept")
    summary = summarize_run(paths.root)
    assert summary.status == "unreadable" and summary.reason == "owner.lock is a folder"
    with pytest.raises(ValueError, match="owner.lock is a folder"):
        open_run_for_resume(paths.root)
    capsys.readouterr()
    assert cli(["train", "--resume", str(paths.root), "--steps", "12", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "owner.lock is a folder" in err and len(err.splitlines()) == 1
    assert (paths.root / "owner.lock" / "inside").read_text() == "kept"  # never removed


def test_a_lock_that_is_a_link_is_not_ours(tiny, tmp_path):
    paths = _finished_run(tiny, tmp_path / "r")
    target = tmp_path / "elsewhere.lock"
    target.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname(), "time": 1.0}))
    (paths.root / "owner.lock").symlink_to(target)
    summary = summarize_run(paths.root)
    assert summary.status == "unreadable" and "link" in summary.reason
    with pytest.raises(ValueError, match="owner.lock"):
        open_run_for_resume(paths.root)
    assert target.exists()


def test_a_valid_lock_from_another_host_is_still_described(tiny, tmp_path):
    paths = _finished_run(tiny, tmp_path / "r")
    _write_lock(paths.root, time=1700000000.5)
    summary = summarize_run(paths.root)
    assert summary.status == "live" and summary.owner.startswith("pid 12345 on host elsewhere.example since ")
