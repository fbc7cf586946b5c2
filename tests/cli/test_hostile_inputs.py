"""Issue #24 (hostile input, round 3): a loaded file's data config never downloads nor creates its data.root,
on every path from a file to data loading; a DCGAN batch of 1, a lying .npy header, Unicode class folders and
the explorer's path field outside the runs root."""

from __future__ import annotations

import copy
import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest
from torchvision import datasets

from gan_core.cli.main import main as cli
from gan_core.config.fields import validation_errors
from gan_core.config.presets import preset
from gan_core.config.schema import DataConfig, RunConfig
from gan_core.data.datasets import data_from_file
from gan_core.data.image_import import import_upload
from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir
from gan_core.runs.checkpoint import save_checkpoint
from gan_core.runs.lock import run_owner
from tests.support.pages import APP

pytestmark = pytest.mark.timeout(300)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


class _RecordingMNIST:
    """Stands in for torchvision's MNIST: records each `download` asked for; a download would make its root
    (as torchvision's does) and fail (no network in tests); without one the files are not there."""

    calls: ClassVar[list[bool]] = []

    def __init__(self, root: str, train: bool = True, download: bool = False, **_: object) -> None:
        _RecordingMNIST.calls.append(download)
        if download:
            os.makedirs(root, exist_ok=True)
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz (no network in tests)")
        raise RuntimeError("Dataset not found. You can use download=True to download it")


@pytest.fixture
def downloads(monkeypatch, tmp_path) -> Path:
    """The recording MNIST in place; returns the root a hostile file names (it must never be created)."""
    _RecordingMNIST.calls = []
    monkeypatch.setattr(datasets, "MNIST", _RecordingMNIST)
    return tmp_path / "somewhere" / "downloads"


def _asks_download(config_dict: dict, root: Path) -> dict:
    """A config dict whose data asks for MNIST into `root`, with download on."""
    config_dict = copy.deepcopy(config_dict)
    config_dict["data"].update({"name": "mnist", "root": str(root), "download": True, "limit": 0})
    return config_dict


@pytest.fixture
def hostile_state(tiny, downloads):
    """A one-step checkpoint state of the tiny MLP whose config asks for MNIST downloaded into `downloads`."""
    trainer = Trainer(tiny)
    trainer.step()
    state = trainer.state_dict()
    state["config"] = _asks_download(state["config"], downloads)
    return state


def _never_downloaded(root: Path) -> None:
    assert _RecordingMNIST.calls and not any(_RecordingMNIST.calls), _RecordingMNIST.calls
    assert not root.exists() and not root.parent.exists()


def test_data_from_file_turns_download_off_unless_the_user_asked():
    asked = DataConfig(name="mnist", root="/somewhere", download=True)
    assert data_from_file(asked).download is False and data_from_file(asked).root == "/somewhere"
    assert data_from_file(asked, allow_download=True).download is True
    assert data_from_file(DataConfig(name="mnist"), allow_download=True).download is True  # the user's flag
    assert data_from_file(DataConfig()) == DataConfig()


@pytest.mark.apptest
def test_the_memorisation_check_of_a_checkpoint_never_downloads(runs_root, hostile_state, downloads):
    path = save_checkpoint(hostile_state, runs_root / "hostile" / "checkpoints" / "latest.pt")
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="view").set_value("Latent explorer").run()
    at.radio(key="explore.source").set_value("Checkpoint file").run()
    at.text_input(key="explore.path").set_value(str(path)).run()
    at.button(key="explore.memo_check").click().run()
    assert not at.exception
    assert any("No memorisation check" in e.value and "files not found" in e.value for e in at.info), \
        [e.value for e in at.info]
    _never_downloaded(downloads)


def test_evaluate_of_a_checkpoint_downloads_only_with_the_users_flag(tmp_path, capsys, hostile_state, downloads):
    path = save_checkpoint(hostile_state, tmp_path / "c.pt")
    assert cli(["evaluate", "--checkpoint", str(path), "--n", "10"]) == 2
    assert "files not found" in _error_line(capsys)
    _never_downloaded(downloads)
    assert cli(["evaluate", "--checkpoint", str(path), "--n", "10", "--download"]) == 2
    assert _RecordingMNIST.calls[-1] is True and "download into" in _error_line(capsys)


def test_resume_of_a_run_without_a_checkpoint_never_downloads(tmp_path, capsys, tiny, downloads):
    config = RunConfig.from_dict(_asks_download(tiny.to_dict(), downloads))
    paths = create_run_dir(config, run_dir=tmp_path / "r", lock=False)
    assert cli(["train", "--resume", str(paths.root), "--steps", "2", "--quiet"]) == 2
    assert "files not found" in _error_line(capsys) and run_owner(paths.root) is None
    _never_downloaded(downloads)


def test_resume_of_a_checkpoint_downloads_only_with_the_users_flag(tmp_path, capsys, tiny, hostile_state, downloads):
    paths = create_run_dir(tiny, run_dir=tmp_path / "r", lock=False)
    save_checkpoint(hostile_state, paths.latest)
    assert cli(["train", "--resume", str(paths.root), "--steps", "2", "--quiet"]) == 2
    assert "files not found" in _error_line(capsys)
    _never_downloaded(downloads)
    assert cli(["train", "--resume", str(paths.root), "--steps", "2", "--quiet", "--download"]) == 2
    assert _RecordingMNIST.calls[-1] is True and "download into" in _error_line(capsys)


def test_the_pages_resume_never_downloads(tmp_path, tiny, hostile_state, downloads):
    from gan_core.control.session import TrainingSession
    from gan_core.data.datasets import DataError

    paths = create_run_dir(tiny, run_dir=tmp_path / "runs" / "r", lock=False)
    save_checkpoint(hostile_state, paths.latest)
    with pytest.raises(DataError, match="files not found"):
        TrainingSession(runs_root=tmp_path / "runs").resume_run(paths.root)  # the Runs view's Resume button
    _never_downloaded(downloads)
    assert run_owner(paths.root) is None


def test_ab_from_a_runs_config_file_never_downloads_unless_set(tmp_path, capsys, tiny, downloads):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(_asks_download(tiny.to_dict(), downloads)))
    ab = ["ab", "--config", str(config_file), "--field", "loss.loss", "--values", "hinge", "minimax",
          "--steps", "2", "--runs-root", str(tmp_path / "runs"), "--quiet"]
    assert cli(ab) == 2
    assert "files not found" in _error_line(capsys)
    _never_downloaded(downloads)
    assert cli([*ab, "--set", "data.download=true"]) == 2  # the user's own --set is obeyed
    assert _RecordingMNIST.calls[-1] is True and "download into" in _error_line(capsys)


# ---- a DCGAN batch of 1 -------------------------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"model.architecture": "dcgan"},
                                     {"model.architecture": "mlp", "model.discriminator_norm": "batch"}])
def test_a_batch_of_one_is_refused_when_a_network_has_batchnorm(changes):
    with pytest.raises(ValueError, match=r"training.batch_size=1 is invalid: allowed an integer from 2 .*BatchNorm"):
        preset("default").with_changes({**changes, "training.batch_size": 1})
    values = preset("default").with_changes(changes).to_dict()
    values["training"]["batch_size"] = 1
    [(field, message)] = validation_errors(values)  # the sidebar shows it beside the field
    assert field == "training.batch_size" and "BatchNorm" in message
    values["training"]["batch_size"] = 2
    assert validation_errors(values) == []


def test_a_batch_of_one_is_allowed_without_batchnorm():
    config = preset("seed-mlp").with_changes({"model.discriminator_norm": "spectral", "training.batch_size": 1})
    assert config.training.batch_size == 1


def test_the_cli_refuses_a_dcgan_batch_of_one_before_any_folder(tmp_path, capsys):
    assert cli(["train", "--set", "training.batch_size=1", "--set", "device=cpu", "--steps", "2",
                "--runs-root", str(tmp_path / "runs"), "--quiet"]) == 2
    assert "training.batch_size=1" in _error_line(capsys)
    assert not (tmp_path / "runs").exists()


# ---- a .npy whose header lies ---------------------------------------------------------------------------


def _npy_with_header(path: Path, shape: tuple, descr: str = "<f4", body: bytes = b"\0" * 3000) -> Path:
    with open(path, "wb") as file:
        np.lib.format.write_array_header_1_0(file, {"descr": descr, "fortran_order": False, "shape": shape})
        file.write(body)
    return path


@pytest.mark.parametrize("shape, descr, refusal", [
    ((9_999_999, 1, 28, 28), "<f4", "declares an array of shape (9999999, 1, 28, 28): allowed N x C x H x W"),
    ((20, 1, 28, 28), "<f4", "declares 20 x 1 x 28 x 28 float32 values (62,720 bytes) but holds 3,000"),
    ((10**12, 10**12), "<f8", "allowed N x C x H x W"),
    ((100_000, 3, 256, 256), "<f8", "allowed at most 1,073,741,824 bytes"),
    ((20, 1, 28, 28), "|O", "allowed numbers"),
])
def test_a_samples_file_whose_header_lies_is_one_line(tmp_path, capsys, shape, descr, refusal):
    path = _npy_with_header(tmp_path / "s.npy", shape, descr)
    assert cli(["evaluate", "--samples", str(path)]) == 2
    line = _error_line(capsys)
    assert refusal in line and "s.npy" in line, line


def test_a_samples_file_that_is_not_npy_is_one_line(tmp_path, capsys):
    (tmp_path / "s.npy").write_bytes(b"hello, not numpy")
    assert cli(["evaluate", "--samples", str(tmp_path / "s.npy")]) == 2
    assert "not a .npy file" in _error_line(capsys)


# ---- Unicode class folders --------------------------------------------------------------------------------


def _png_bytes(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), (value, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def test_unicode_class_folders_are_labels_and_skips_say_why(tmp_path):
    archive = _zip([("pets/猫/a.png", _png_bytes(10)), ("pets/猫/b.png", _png_bytes(20)),
                    ("pets/chien à poils/c.png", _png_bytes(30)), ("pets/bell\x07/d.png", _png_bytes(40)),
                    ("pets/a/b/e.png", _png_bytes(50))])
    report = import_upload([("pets.zip", archive)], tmp_path / "data", "pets", size=8)
    assert report.per_class == {"猫": 2, "chien à poils": 1}
    assert report.skipped == {"nested too deep": 1, "in class folders with control characters": 1}
    assert sorted(p.name for p in report.folder.iterdir()) == ["chien à poils", "猫"]


# ---- the explorer's path field ------------------------------------------------------------------------------


def _path_errors(at, path: str) -> list[str]:
    at.text_input(key="explore.path").set_value(path).run()
    assert not at.exception
    return [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # plain()'s escapes taken off


@pytest.mark.apptest
def test_the_explorer_says_one_thing_about_any_path_outside_the_runs_root(runs_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.pt").write_text("not a checkpoint")
    (outside / "empty.pt").write_bytes(b"")
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="view").set_value("Latent explorer").run()
    at.radio(key="explore.source").set_value("Checkpoint file").run()
    messages = {path: _path_errors(at, path) for path in
                [str(outside / "missing.pt"), str(outside / "notes.pt"), str(outside / "empty.pt"), str(outside),
                 "/dev/null", "/etc/passwd", "/no/such/file.pt"]}
    texts = {tuple(m[0].replace(path, "PATH").split()) if m else () for path, m in messages.items()}
    assert len(texts) == 1 and "not a checkpoint here" in " ".join(next(iter(texts))), messages
    # Inside the runs root the helpful messages stay.
    runs_root.mkdir(parents=True, exist_ok=True)
    (runs_root / "empty.pt").write_bytes(b"")
    assert any("does not exist" in m for m in _path_errors(at, str(runs_root / "missing.pt")))
    assert any("empty" in m for m in _path_errors(at, str(runs_root / "empty.pt")))
