"""Issue #24 item 8: a full disk (ENOSPC) during training, resuming or an image import is one line naming the
errno text and the folder, a `failed` event where the run directory takes it, exit 2; never a traceback."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from gan_core.cli.main import main as cli
from gan_core.record import opening as runs_module
from gan_core.runs.listing import summarize_run
from gan_core.runs.lock import run_owner
from gan_core.runs.paths import RunPaths, read_events
from tests.support.pages import APP, unescaped
from tests.support.uploads import shapes_zip

pytestmark = pytest.mark.timeout(300)
TINY_TRAIN = ["train", "--preset", "seed-mlp", "--set", "data.limit=200", "--set", "device=cpu",
              "--set", "batch_size=16", "--set", "eval_every=0", "--set", "checkpoint_every=5",
              "--set", "model.hidden_dim=16", "--quiet"]
FULL = "No space left on device"


def _full() -> OSError:
    return OSError(errno.ENOSPC, FULL)  # as a write reports it: no file name


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


class _FullFile(io.RawIOBase):
    """A file whose disk fills after `budget` bytes: write raises ENOSPC, as a real full disk does."""

    def __init__(self, inner, budget: int) -> None:
        self.inner, self.budget = inner, budget

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.budget:
            raise _full()
        self.budget -= len(data)
        return self.inner.write(data)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()


def _fill_at_checkpoint(monkeypatch, from_call: int = 1) -> None:
    """torch.save's writes hit a full disk from its `from_call`-th call on (torch then raises its own
    RuntimeError while the OSError is being handled: two chained exceptions)."""
    real_save, calls = torch.save, []

    def save(obj, file, *args, **kwargs):
        calls.append(1)
        return real_save(obj, _FullFile(file, 1000) if len(calls) >= from_call else file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)


def _ended_failed(run: Path, line: str) -> None:
    assert FULL in line and str(run) in line, line
    failed = [e for e in read_events(RunPaths(run).events) if e["kind"] == "failed"]
    assert len(failed) == 1 and FULL in failed[0]["message"] and str(run) in failed[0]["message"], failed
    assert run_owner(run) is None
    assert summarize_run(run, now=summarize_run(run).modified + 1000).status == "failed"


def test_the_first_checkpoint_on_a_full_disk_fails_the_run_in_one_line(tmp_path, capsys, monkeypatch):
    _fill_at_checkpoint(monkeypatch)
    assert cli([*TINY_TRAIN, "--steps", "20", "--run-dir", str(tmp_path / "r")]) == 2
    _ended_failed(tmp_path / "r", _one_line(capsys))
    assert not list((tmp_path / "r" / "checkpoints").iterdir())  # no half-written checkpoint or temp file


def test_the_last_checkpoint_on_a_full_disk_fails_the_run_in_one_line(tmp_path, capsys, monkeypatch):
    _fill_at_checkpoint(monkeypatch, from_call=2)  # step 5's checkpoint is written; the one at the end is not
    assert cli([*TINY_TRAIN, "--steps", "7", "--run-dir", str(tmp_path / "r")]) == 2
    _ended_failed(tmp_path / "r", _one_line(capsys))
    assert RunPaths(tmp_path / "r").latest.exists()  # the last good checkpoint is kept


def test_a_write_error_naming_no_file_names_the_run_folder(tmp_path, capsys, monkeypatch):
    def save(obj, file, *args, **kwargs):  # as a failed fsync or write() reports it: errno text, no file name
        raise _full()

    monkeypatch.setattr(torch, "save", save)
    assert cli([*TINY_TRAIN, "--steps", "20", "--run-dir", str(tmp_path / "r")]) == 2
    _ended_failed(tmp_path / "r", _one_line(capsys))


def test_resuming_when_the_metrics_cannot_be_cut_is_one_line_and_a_failed_event(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    assert cli([*TINY_TRAIN, "--steps", "7", "--run-dir", str(run)]) == 0
    capsys.readouterr()

    def cut_back(paths, step):  # metrics.csv (and the other per-step files) cut back to the checkpoint's step
        raise _full()

    monkeypatch.setattr(runs_module, "cut_back", cut_back)
    assert cli(["train", "--resume", str(run), "--steps", "12", "--quiet"]) == 2
    _ended_failed(run, _one_line(capsys))


def test_resuming_when_the_lock_cannot_be_written_leaves_no_lock(tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    assert cli([*TINY_TRAIN, "--steps", "7", "--run-dir", str(run)]) == 0
    capsys.readouterr()
    import gan_core.runs.lock as run_lock_module

    real_fsync = run_lock_module.os.fsync

    def fsync(fd):
        raise _full()

    monkeypatch.setattr(run_lock_module.os, "fsync", fsync)
    assert cli(["train", "--resume", str(run), "--steps", "12", "--quiet"]) == 2
    line = _one_line(capsys)
    assert FULL in line and str(run) in line, line
    assert not (run / "owner.lock").exists()  # an empty lock would block the next resume as "being taken"
    monkeypatch.setattr(run_lock_module.os, "fsync", real_fsync)
    assert cli(["train", "--resume", str(run), "--steps", "9", "--quiet"]) == 0  # space again: it resumes


@pytest.mark.apptest
def test_a_full_disk_during_an_import_is_one_message_beside_the_button(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.selectbox(key="cfg.data.name").set_value("folder").run()
    at.sidebar.file_uploader[0].set_value(("shapes.zip", shapes_zip(per_class=3), "application/zip")).run()
    real_save, saved = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        saved.append(fp)
        if len(saved) > 2:
            raise _full()
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    at.button(key="upload.import").click().run()
    st.cache_resource.clear()
    assert not at.exception
    errors = [unescaped(e.value) for e in at.sidebar.error if not e.value.startswith("data.path=")]
    data = tmp_path / "runs" / "data"
    assert errors == [f"Nothing imported: {FULL}: {data}"], errors
    assert [p for p in data.rglob("*")] == []  # the staging folder is gone
    assert at.text_input(key="cfg.data.path").value == ""
