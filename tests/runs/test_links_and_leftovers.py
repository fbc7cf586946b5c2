"""Issue #24, run folders: one link-refusing atomic writer (2), safe reads (5), per-step files cut back on
resume and rewind (6), leftovers of kills cleaned (9)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gan_core import files as safe_io
from gan_core.config.presets import toy_preset
from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.quality_record import QualityRecord
from gan_core.record.recorder import RunRecorder
from gan_core.runs.listing import list_runs
from gan_core.runs.lock import release_run_lock
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import read_events

pytestmark = pytest.mark.timeout(120)  # a FIFO opened for reading or appending blocks forever without O_NONBLOCK

SECRET = "export PATH=/usr/bin  # the user's own file\n"


def tiny_toy(**changes):
    """A 2D toy run small enough for hundreds of steps a second; its live evaluation costs milliseconds."""
    return toy_preset("ring8").with_changes({"data.limit": 256, "model.hidden_dim": 8, "training.batch_size": 32,
                                             "training.device": "cpu", "training.sample_every": 10,
                                             "training.checkpoint_every": 20, "training.eval_every": 5,
                                             "training.eval_samples": 100, **changes})


@pytest.fixture
def every_evaluation(monkeypatch):
    """Each scheduled evaluation runs (the 10% budget would skip some at random on a busy machine)."""
    monkeypatch.setattr(QualityRecord, "within_budget", lambda self: True)


def _killed_run(config, root, steps):
    """A run trained for `steps` steps whose process then died: files as they were, no final checkpoint."""
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=root))
    recorder.log("start")
    for _ in range(steps):
        recorder.record(trainer.step())
    recorder.close()  # flushes and releases the lock, writes nothing more: what a kill leaves, minus the lock
    return recorder.paths


def _resume_and_train(root, until):
    """open_run_for_resume, then train to step `until` and finish, as `train --resume` does."""
    trainer, paths = open_run_for_resume(root)
    recorder = RunRecorder(trainer, paths)
    recorder.log("resume")
    while trainer.step_count < until:
        recorder.record(trainer.step())
    recorder.finish("finish")
    return trainer


def _outside(tmp_path, name="bashrc"):
    target = tmp_path / "home" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(SECRET)
    return target


# ---- 2. nothing written through a link ------------------------------------------------------

def test_write_atomic_replaces_a_link_and_leaves_its_target_alone(tmp_path):
    target = _outside(tmp_path)
    link = tmp_path / "config.json"
    link.symlink_to(target)
    safe_io.write_atomic(link, '{"name": "x"}\n')
    assert target.read_text() == SECRET
    assert not link.is_symlink() and link.read_text() == '{"name": "x"}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_write_atomic_into_a_folder_named_like_the_file_fails_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "bookmarks.json").mkdir()
    with pytest.raises(OSError):
        safe_io.write_atomic(tmp_path / "bookmarks.json", "[1]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bookmarks.json"]


@pytest.mark.parametrize("kind", ["link", "fifo", "folder", "hard link"])
def test_open_append_refuses_anything_but_a_plain_file(tmp_path, kind):
    target = _outside(tmp_path)
    path = tmp_path / "events.jsonl"
    if kind == "link":
        path.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        os.link(target, path)
    with pytest.raises(safe_io.UnreadableFile, match="events.jsonl"):
        safe_io.open_append(path).close()
    assert target.read_text() == SECRET


def test_open_append_appends_to_a_plain_file(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("step\n1\n")
    with safe_io.open_append(path) as file:
        file.write("2\n")
    assert path.read_text() == "step\n1\n2\n"


def test_saving_a_bookmark_replaces_a_link_and_never_writes_its_target(tmp_path):
    from dashboard.views.explorer.page import load_bookmarks, save_bookmark

    target = _outside(tmp_path)
    path = tmp_path / "bookmarks.json"
    path.symlink_to(target)
    assert save_bookmark(path, 7) == [7]
    assert target.read_text() == SECRET
    assert not path.is_symlink() and json.loads(path.read_text()) == [7]
    assert save_bookmark(path, 3) == [3, 7] and load_bookmarks(path) == [3, 7]


@pytest.mark.parametrize("name", ["events.jsonl", "metrics.csv", "quality.csv"])
def test_resume_never_appends_through_a_linked_run_file(tmp_path, name, every_evaluation):
    paths = _killed_run(tiny_toy(), tmp_path / "r", 20)
    target = _outside(tmp_path)
    (paths.root / name).unlink()
    (paths.root / name).symlink_to(target)
    with pytest.raises(ValueError, match=name.replace(".", r"\.") + ".*link"):
        _resume_and_train(paths.root, 30)
    assert target.read_text() == SECRET
    assert (paths.root / name).is_symlink()  # refused before anything was cut or written
    assert not (paths.root / "owner.lock").exists()  # released with the refusal


def test_a_linked_sample_grid_is_replaced_not_written_through(tmp_path):
    paths = _killed_run(tiny_toy(**{"training.eval_every": 0}), tmp_path / "r", 20)
    target = _outside(tmp_path)
    grid = paths.sample_grid(30)
    grid.symlink_to(target)
    _resume_and_train(paths.root, 30)
    assert target.read_text() == SECRET
    assert not grid.is_symlink() and grid.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("folder", ["checkpoints", "samples"])
def test_resume_refuses_a_run_whose_subfolder_is_a_link(tmp_path, folder):
    paths = _killed_run(tiny_toy(**{"training.eval_every": 0}), tmp_path / "r", 20)
    outside = tmp_path / "elsewhere"
    (paths.root / folder).rename(outside)
    (paths.root / folder).symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    with pytest.raises(ValueError, match=f"{folder}.*link"):
        _resume_and_train(paths.root, 30)
    assert sorted(p.name for p in outside.iterdir()) == before


def test_the_quality_reference_is_replaced_not_written_through(tmp_path, monkeypatch):
    from gan_core.record import live_quality as quality

    class FakeEvaluator:
        accuracy = 0.9

        def reference(self, images):
            return {"fid": 1.0, "diversity": 2.0}

    monkeypatch.setattr(quality.Evaluator, "for_data", classmethod(lambda cls, data, **options: FakeEvaluator()))
    from tests.support.configs import tiny_config

    config = tiny_config(eval_every=10)
    paths = create_run_dir(config, run_dir=tmp_path / "r")
    release_run_lock(paths.root)
    target = _outside(tmp_path)
    paths.quality_reference.symlink_to(target)
    live = quality.LiveEvaluation(Trainer(config), paths.root, every=10, samples=10)
    assert live.prepare() == {"fid": 1.0, "diversity": 2.0}
    assert target.read_text() == SECRET
    assert json.loads(paths.quality_reference.read_text())["accuracy"] == 0.9


RUN_WRITERS = ("gan_core/record/opening.py", "gan_core/record/recorder.py", "gan_core/runs/metrics.py", "gan_core/record/live_quality.py",
               "gan_core/record/quality_record.py", "gan_core/record/toy_quality.py", "gan_core/runs/admin.py",
               "gan_core/runs/paths.py", "gan_core/runs/listing.py", "gan_core/runs/checkpoint.py", "dashboard/views/explorer/page.py")


def test_modules_that_write_run_files_write_only_through_safe_io():
    """A guard: the modules that write into run directories call no writer that follows links."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for name in RUN_WRITERS:
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            modes = node.args[1:2] + [k.value for k in node.keywords if k.arg == "mode"]
            mode = modes[0] if modes else None
            writes = isinstance(node.func, ast.Name) and called == "open" and mode is not None and not (
                isinstance(mode, ast.Constant) and set(str(mode.value)) <= set("rbt"))
            if writes or called in ("write_text", "write_bytes", "copyfile", "mkstemp", "save_png"):
                found.append(f"{name}:{node.lineno}: {called}")
    assert found == []


# ---- 5. reads never block and never follow a link -------------------------------------------

def _returns_within(function, seconds=10.0):
    """function()'s result, or AssertionError if it has not returned in `seconds` (a blocked open)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(function()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"{function} blocked for {seconds} s"
    return result[0]


def test_a_fifo_named_bookmarks_json_does_not_hang_the_explorer(tmp_path):
    from dashboard.views.explorer.page import load_bookmarks

    os.mkfifo(tmp_path / "bookmarks.json")
    assert _returns_within(lambda: load_bookmarks(tmp_path / "bookmarks.json")) == []


def test_a_linked_bookmarks_json_is_not_read(tmp_path):
    from dashboard.views.explorer.page import load_bookmarks

    target = tmp_path / "elsewhere.json"
    target.write_text("[1, 2, 3]")
    (tmp_path / "bookmarks.json").symlink_to(target)
    assert load_bookmarks(tmp_path / "bookmarks.json") == []


def test_the_metrics_download_does_not_hang_on_a_fifo(tmp_path):
    from dashboard.views.training import _read_csv

    os.mkfifo(tmp_path / "metrics.csv")
    assert _returns_within(lambda: _read_csv(tmp_path / "metrics.csv")).startswith(b"error:")


def test_a_saved_grid_that_is_a_link_is_not_served(tmp_path):
    from dashboard.live.messages import read_saved_grid

    target = tmp_path / "private.png"
    target.write_bytes(b"\x89PNG private")
    (tmp_path / "step_0000010.png").symlink_to(target)
    assert read_saved_grid(tmp_path / "step_0000010.png") is None
    assert read_saved_grid(target) is not None


# ---- 6. per-step files cut back to the checkpoint -------------------------------------------

def _steps(path):
    return [int(step) for step in read_metrics(path)["step"]]


def test_a_resume_cuts_quality_and_events_back_to_the_checkpoint(tmp_path, every_evaluation):
    paths = _killed_run(tiny_toy(), tmp_path / "r", 27)  # checkpoints at 20; evaluations at 5, 10, ..., 25
    recorder_events = read_events(paths.events)
    assert _steps(paths.quality)[-1] == 25 and max(e["step"] for e in recorder_events) > 20
    with open(paths.events, "a") as file:  # a kill mid-write leaves half a line
        file.write('{"time": 1.0, "kind": "pau')
    _resume_and_train(paths.root, 40)
    assert _steps(paths.metrics) == list(range(1, 41))
    assert _steps(paths.quality) == list(range(5, 41, 5))
    events = read_events(paths.events)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds.count("resume") == 1 and kinds[-1] == "finish"
    resume = kinds.index("resume")
    assert all(e["step"] <= 20 for e in events[:resume])  # the lost steps' events went with them
    best = [e["step"] for e in events if e["kind"] == "best"]
    assert len(best) == len(set(best))
    assert paths.events.read_text().endswith("\n")


def test_a_rewind_after_a_non_finite_loss_cuts_quality_back(tmp_path, every_evaluation):
    config = tiny_toy()
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"))
    for _ in range(27):
        recorder.record(trainer.step())
    assert _steps(recorder.paths.quality)[-1] == 25
    assert recorder.restore_last_good() == 20
    while trainer.step_count < 30:
        recorder.record(trainer.step())
    recorder.close()
    assert _steps(recorder.paths.metrics) == list(range(1, 31))
    assert _steps(recorder.paths.quality) == [5, 10, 15, 20, 25, 30]


def test_the_session_forgets_quality_rows_past_a_restore(tmp_path, every_evaluation, monkeypatch):
    from gan_core.control.session import TrainingSession

    session = TrainingSession(runs_root=tmp_path / "runs")
    try:
        session.start(tiny_toy(), paused=True)
        session.step(27)
        assert session.wait_for(lambda s: s.snapshot().step == 27 and s.status == "paused", 60)
        real_step = Trainer.step
        monkeypatch.setattr(Trainer, "step", lambda trainer, update="both": {**real_step(trainer, update),
                                                                           "g_loss": float("nan")})
        session.step(1)
        assert session.wait_for(lambda s: s.snapshot().diverged, 60)
        monkeypatch.setattr(Trainer, "step", real_step)
        session.step(10)  # from the checkpoint at step 20: steps 21..30 again
        assert session.wait_for(lambda s: [row["step"] for row in s.snapshot().quality][-1:] == [30], 60)
        assert [int(row["step"]) for row in session.snapshot().quality] == [5, 10, 15, 20, 25, 30]
    finally:
        session.shutdown()


# ---- 9. leftovers of kills --------------------------------------------------------------------

def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)


def test_every_kind_of_temp_file_is_removed_when_the_run_is_resumed(tmp_path):
    paths = _killed_run(tiny_toy(**{"training.eval_every": 0}), tmp_path / "r", 20)
    leftovers = [paths.root / name for name in (".metrics.csv.a1b2c3d4.tmp", ".events.jsonl.x_y9z8w7.tmp",
                                                ".quality.csv.k2j3h4g5.tmp", ".config.json.q1w2e3r4.tmp",
                                                "metrics.csv.tmp", "quality.csv.tmp")]
    leftovers += [paths.samples / ".step_0000030.png.a1b2c3d4.tmp", paths.checkpoints / ".latest.pt.4242.tmp"]
    page_written = [paths.root / ".run_meta.json.5tgb6yhn.tmp", paths.root / ".bookmarks.json.plmokn12.tmp"]
    for path in leftovers + page_written:
        path.write_text("half a file")
    for path in page_written:
        _age(path, 120)  # written by the page, which does not own the run: removed once a minute old
    fresh = paths.root / ".run_meta.json.newnew12.tmp"
    fresh.write_text("the page is writing this right now")
    mine = [paths.root / "notes.tmp", paths.root / ".hidden.tmp", paths.samples / "notes.png.tmp"]
    for path in mine:
        path.write_text("a user's file")
    open_run_for_resume(paths.root)
    release_run_lock(paths.root)
    assert [path.name for path in leftovers + page_written if path.exists()] == []
    assert fresh.exists() and all(path.exists() for path in mine)


def test_listing_removes_old_temp_files_of_runs_no_one_owns(tmp_path):
    paths = _killed_run(tiny_toy(**{"training.eval_every": 0}), tmp_path / "runs" / "r", 20)
    old = [paths.root / ".run_meta.json.5tgb6yhn.tmp", paths.checkpoints / ".step_0000040.pt.abcdefgh.tmp"]
    for path in old:
        path.write_text("half a file")
        _age(path, 120)
    for path in (paths.metrics, paths.events, paths.config):
        _age(path, 120)  # killed two minutes ago: "stopped", not live
    fresh = paths.root / ".bookmarks.json.newnew12.tmp"
    fresh.write_text("being written")
    assert [s.status for s in list_runs(tmp_path / "runs")] == ["stopped"]
    assert [path.name for path in old if path.exists()] == [] and fresh.exists()


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_import_removes_staging_folders_left_by_killed_imports(tmp_path):
    from gan_core.data.image_import import clean_staging_folders, staging_folder

    data = tmp_path / "data"
    data.mkdir()
    dead = data / f".import-shapes-p{_dead_pid()}-abcd1234"
    legacy_old = data / ".import-cats-x1y2z3w4"  # before this version: no pid in the name
    legacy_fresh = data / ".import-dogs-q1w2e3r4"
    incoming = data / f".incoming-shapes-p{_dead_pid()}-zz99yy88"
    for folder in (dead, legacy_old, legacy_fresh, incoming):
        (folder / "class").mkdir(parents=True)
        (folder / "class" / "00000.png").write_bytes(b"png")
    _age(legacy_old, 120)
    live = staging_folder(data, "import", "birds")  # this process's own, still importing
    assert str(os.getpid()) in live.name
    user_folder = data / "shapes"
    user_folder.mkdir()
    removed = clean_staging_folders(data)
    assert sorted(p.name for p in removed) == sorted([dead.name, legacy_old.name, incoming.name])
    assert legacy_fresh.exists() and live.exists() and user_folder.exists()


def test_a_killed_replace_puts_the_old_data_set_back(tmp_path):
    from gan_core.data.image_import import clean_staging_folders

    data = tmp_path / "data"
    retired = data / f".replaced-shapes-p{_dead_pid()}-abcd1234"
    (retired / "shapes").mkdir(parents=True)
    (retired / "shapes" / "00000.png").write_bytes(b"old")
    clean_staging_folders(data)  # killed between moving the old set aside and moving the new one in
    assert (data / "shapes" / "00000.png").read_bytes() == b"old" and not retired.exists()


def test_the_next_import_cleans_up_after_a_killed_one(tmp_path):
    import io

    from PIL import Image

    from gan_core.data.image_import import import_upload

    data = tmp_path / "data"
    dead = data / f".import-shapes-p{_dead_pid()}-abcd1234"
    dead.mkdir(parents=True)
    legacy = data / ".import-shapes-x1y2z3w4"
    legacy.mkdir()
    _age(legacy, 120)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    report = import_upload([("a.png", buffer.getvalue())], data, "shapes", size=8)
    assert report.images == 1
    assert sorted(p.name for p in data.iterdir()) == ["shapes"]
