"""Issue #10 items 8 and 11: a file never triggers a download; bad input gets one line and exit 2, not a traceback."""

from __future__ import annotations

import copy
import errno
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gan_core.cli.main import main as cli
from gan_core.config.schema import DataConfig
from gan_core.data.datasets import load_dataset
from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.checkpoint import save_checkpoint
from gan_core.runs.listing import summarize_run
from gan_core.runs.lock import run_owner
from gan_core.runs.metrics import MetricsWriter
from gan_core.runs.paths import RunPaths, read_events

pytestmark = pytest.mark.timeout(120)
TINY_TRAIN = ["train", "--preset", "seed-mlp", "--set", "data.limit=200", "--set", "device=cpu",
              "--set", "batch_size=16", "--set", "eval_every=0", "--set", "checkpoint_every=5",
              "--set", "model.hidden_dim=16", "--quiet"]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def checkpoint_state(tiny):
    trainer = Trainer(tiny)
    trainer.step()
    return trainer.state_dict()


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf"])
def test_seconds_that_are_not_finite_are_refused(seconds, capsys, tmp_path):
    assert cli([*TINY_TRAIN, f"--seconds={seconds}", "--runs-root", str(tmp_path)]) == 2
    assert "--seconds" in _error_line(capsys) and not any(tmp_path.iterdir())


def test_a_run_dir_that_is_not_a_folder_is_refused(capsys):
    assert cli([*TINY_TRAIN, "--steps", "2", "--run-dir", "/dev/null"]) == 2
    assert "not a folder" in _error_line(capsys)


@pytest.mark.parametrize("command", ["sample", "interpolate"])
def test_out_that_is_an_existing_folder_is_refused(command, tmp_path, capsys, checkpoint_state):
    path = save_checkpoint(checkpoint_state, tmp_path / "c.pt")
    folder = tmp_path / "out.png"
    folder.mkdir()
    extra = ["--from-seed", "1", "--to-seed", "2"] if command == "interpolate" else []
    assert cli([command, "--checkpoint", str(path), "--out", str(folder), *extra]) == 2
    assert "existing folder" in _error_line(capsys)


def test_a_zero_byte_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "c.pt").write_bytes(b"")
    assert cli(["sample", "--checkpoint", str(tmp_path / "c.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "empty" in _error_line(capsys)


@pytest.mark.parametrize("command", [["sample", "--out", "x.npy"], ["evaluate", "--n", "10"]])
def test_nan_weights_are_refused_by_sample_and_evaluate(tmp_path, capsys, checkpoint_state, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = copy.deepcopy(checkpoint_state)
    state["generator"]["net.0.weight"].fill_(float("nan"))
    path = save_checkpoint(state, tmp_path / "c.pt")
    assert cli([command[0], "--checkpoint", str(path), *command[1:]]) == 2
    assert "non-finite" in _error_line(capsys) and not (tmp_path / "x.npy").exists()


def test_samples_partly_nan_are_refused(tmp_path, capsys):
    images = np.zeros((20, 1, 28, 28), dtype=np.float32)
    images[3, 0, 0, 0] = np.nan
    np.save(tmp_path / "s.npy", images)
    assert cli(["evaluate", "--samples", str(tmp_path / "s.npy")]) == 2
    assert "NaN or infinite values in 1 of 20 images" in _error_line(capsys)


def _torchvision_checkpoint(state, tmp_path):
    """A checkpoint whose own config asks for MNIST from a folder that does not exist, with download on."""
    state = copy.deepcopy(state)
    state["config"]["data"].update({"name": "mnist", "root": str(tmp_path / "downloads"), "download": True,
                                    "limit": 0})
    return state


def _no_network(monkeypatch):
    import torchvision.datasets as datasets

    monkeypatch.setattr(datasets.MNIST, "download", lambda self: pytest.fail("a file started a download"))


def test_evaluate_checkpoint_never_downloads_because_the_file_says_so(tmp_path, capsys, checkpoint_state,
                                                                      monkeypatch):
    _no_network(monkeypatch)
    path = save_checkpoint(_torchvision_checkpoint(checkpoint_state, tmp_path), tmp_path / "c.pt")
    assert cli(["evaluate", "--checkpoint", str(path), "--n", "10"]) == 2
    assert "files not found" in _error_line(capsys)
    assert not (tmp_path / "downloads").exists()


def test_train_resume_never_downloads_because_the_file_says_so(tiny, tmp_path, capsys, checkpoint_state,
                                                               monkeypatch):
    _no_network(monkeypatch)
    paths = create_run_dir(tiny, run_dir=tmp_path / "r", lock=False)
    save_checkpoint(_torchvision_checkpoint(checkpoint_state, tmp_path), paths.latest)
    assert cli(["train", "--resume", str(paths.root), "--steps", "3", "--quiet"]) == 2
    assert "files not found" in _error_line(capsys)
    assert not (tmp_path / "downloads").exists() and run_owner(paths.root) is None


def test_a_read_only_run_dir_is_one_line_and_releases_the_lock(tiny, tmp_path, capsys, monkeypatch):
    assert cli([*TINY_TRAIN, "--steps", "5", "--run-dir", str(tmp_path / "r")]) == 0
    capsys.readouterr()

    def refuse(self, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("gan_core.record.recorder.EventLog.__init__", refuse)
    assert cli(["train", "--resume", str(tmp_path / "r"), "--steps", "8", "--quiet"]) == 2
    assert _error_line(capsys) == f"error: Permission denied: {tmp_path / 'r' / 'events.jsonl'}"
    assert run_owner(tmp_path / "r") is None


def test_a_full_disk_ends_the_run_as_failed_with_one_line(tmp_path, capsys, monkeypatch):
    original = MetricsWriter.append

    def append(self, row):
        if row.get("step", 0) >= 7:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        original(self, row)

    monkeypatch.setattr(MetricsWriter, "append", append)
    assert cli([*TINY_TRAIN, "--steps", "20", "--run-dir", str(tmp_path / "r")]) == 2
    assert "No space left on device" in _error_line(capsys)
    failed = [e for e in read_events(RunPaths(tmp_path / "r").events) if e["kind"] == "failed"]
    assert len(failed) == 1 and "No space left" in failed[0]["message"]
    summary = summarize_run(tmp_path / "r", now=summarize_run(tmp_path / "r").modified + 1000)
    assert summary.status == "failed" and summary.owner is None


def _huge_png_header(path, width=20000, height=20000):
    """A valid PNG signature and IHDR declaring width x height, with almost no data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))
                     + chunk(b"IEND", b""))


def test_a_huge_png_header_in_a_folder_is_skipped_and_counted(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "cats").mkdir(exist_ok=True)
        Image.new("RGB", (12, 12), (200, 0, 0)).save(tmp_path / "cats" / f"{name}.png")
    _huge_png_header(tmp_path / "cats" / "bomb.png")
    _huge_png_header(tmp_path / "cats" / "big.png", 8000, 8000)  # under PIL's own bomb limit, over ours
    dataset = load_dataset(DataConfig(name="folder", path=str(tmp_path), image_size=8))
    assert dataset.images.shape == (2, 3, 8, 8) and dataset.skipped == 2


def test_a_tiny_labelled_set_makes_live_evaluation_unavailable_not_fatal(tmp_path, tiny):
    for label in ("a", "b"):
        for index in range(2):
            (tmp_path / "data" / label).mkdir(parents=True, exist_ok=True)
            Image.new("L", (8, 8), 60 * index + (100 if label == "b" else 0)).save(
                tmp_path / "data" / label / f"{index}.png")
    config = tiny.with_changes({"data.name": "folder", "data.path": str(tmp_path / "data"), "data.limit": 0,
                                "data.image_size": 8, "data.channels": 1, "training.batch_size": 2,
                                "training.eval_every": 2, "training.eval_samples": 10})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"))
    for _ in range(6):
        assert recorder.record(trainer.step())
    recorder.close()
    unavailable = [e for e in read_events(recorder.paths.events) if e["kind"] == "quality_unavailable"]
    assert len(unavailable) == 1 and "at least 20" in unavailable[0]["message"]


def test_a_scoring_error_makes_live_evaluation_unavailable_not_fatal(tmp_path, tiny, monkeypatch):
    from gan_core.quality.evaluator import Evaluator

    def broken(self, images):
        raise RuntimeError("selected index k out of range")

    monkeypatch.setattr(Evaluator, "score", broken)
    config = tiny.with_changes({"training.eval_every": 5, "training.eval_samples": 10})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"))
    for _ in range(10):
        assert recorder.record(trainer.step())
    recorder.close()
    [event] = [e for e in read_events(recorder.paths.events) if e["kind"] == "quality_unavailable"]
    assert "selected index k out of range" in event["message"]
    assert trainer.step_count == 10  # the run went on past both evaluations
