"""Issue #10 item 10: one bad or hostile run directory is listed as 'unreadable', never an error or a hang."""

from __future__ import annotations

import os

import pytest

from gan_core.engine.trainer import Trainer
from gan_core.files import UnreadableFile
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.listing import list_runs, summarize_run
from gan_core.runs.lock import release_run_lock
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events

pytestmark = pytest.mark.timeout(60)  # a FIFO read blocks forever: the timeout turns that into a failure


def _good_run(config, root, steps=10):
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=root))
    for _ in range(steps):
        recorder.record(trainer.step())
    recorder.close()
    return recorder.paths


@pytest.mark.parametrize("content, reason", [
    (b"[]", "not a valid run config"),
    (b"null", "not a valid run config"),
    (b'{"model": 5}', "not a valid run config"),
    (b'{"name": "x", "model": {"hidden_dim": "wide"}}', "hidden_dim"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested deeper"),
    (b"{not json", "not valid JSON"),
    (b" " * (2 << 20), "larger than"),
])
def test_a_bad_config_json_makes_the_run_unreadable_not_an_error(tiny, tmp_path, content, reason):
    _good_run(tiny, tmp_path / "good")
    bad = _good_run(tiny, tmp_path / "bad")
    bad.config.write_bytes(content)
    runs = {summary.path.name: summary for summary in list_runs(tmp_path)}
    assert runs["good"].status != "unreadable" and runs["good"].config["name"] == "tiny"
    assert runs["bad"].status == "unreadable" and reason in runs["bad"].reason
    assert runs["bad"].config == {} and runs["bad"].steps == 0


@pytest.mark.parametrize("name", ["config.json", "metrics.csv", "events.jsonl"])
def test_a_fifo_in_a_run_directory_does_not_hang_the_listing(tiny, tmp_path, name):
    paths = _good_run(tiny, tmp_path / "r")
    target = paths.root / name
    target.unlink()
    os.mkfifo(target)
    [summary] = list_runs(tmp_path)
    assert summary.status == "unreadable" and "not a regular file" in summary.reason
    if name == "metrics.csv":
        with pytest.raises(UnreadableFile, match="not a regular file"):
            read_metrics(target)
    if name == "events.jsonl":
        with pytest.raises(UnreadableFile, match="not a regular file"):
            read_events(target)


def test_a_folder_named_like_a_file_is_unreadable(tiny, tmp_path):
    paths = _good_run(tiny, tmp_path / "r")
    paths.events.unlink()
    paths.events.mkdir()
    [summary] = list_runs(tmp_path)
    assert summary.status == "unreadable" and "events.jsonl" in summary.reason


def test_read_metrics_refuses_a_garbled_table_with_a_message(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step,step\n1,2\n")
    with pytest.raises(UnreadableFile, match="repeats a column"):
        read_metrics(path)


def test_events_with_wrong_shapes_are_skipped(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('[1]\n{"kind": 5, "step": 1}\n{"kind": "start", "step": "x"}\n'
                    '{"kind": "start", "step": 3}\n' + "[" * 50000 + "\n")
    assert read_events(path) == [{"kind": "start", "step": 3}]


def test_a_summary_of_a_folder_without_config_is_none_and_a_stray_file_is_ignored(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "loose.txt").write_text("x")
    os.mkfifo(tmp_path / "pipe")
    assert summarize_run(tmp_path / "notes") is None
    assert list_runs(tmp_path) == []


def test_resume_of_a_run_with_an_unreadable_metrics_file_is_a_clear_error(tiny, tmp_path):
    from gan_core.control.session import TrainingSession

    paths = _good_run(tiny, tmp_path / "r")
    paths.metrics.unlink()
    os.mkfifo(paths.metrics)
    with pytest.raises(ValueError, match="not a regular file"):
        TrainingSession(runs_root=tmp_path).resume_run(paths.root)
    release_run_lock(paths.root)
    assert not (RunPaths(paths.root).root / "owner.lock").exists()
