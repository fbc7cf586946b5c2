"""Issue #24 item 7: a bad evaluator cache file (evaluator-*.pt under $GAN_WORKBENCH_CACHE) is vetted like a
checkpoint, set aside and rebuilt with one line saying so; it never stops `evaluate` or a training run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import torch

from gan_core.cli.main import main as cli
from gan_core.config.presets import preset
from gan_core.engine.trainer import Trainer
from gan_core.quality import evaluator_cache
from gan_core.quality.evaluator import Evaluator, cached_evaluator_path
from gan_core.runs.checkpoint import save_checkpoint
from gan_core.runs.paths import RunPaths, read_events

pytestmark = pytest.mark.timeout(300)
DATA = preset("seed-mlp").with_changes({"data.limit": 200}).data
TRAIN = ["train", "--preset", "seed-mlp", "--set", "data.limit=200", "--set", "device=cpu", "--set", "batch_size=16",
         "--set", "model.hidden_dim=16", "--set", "eval_every=4", "--set", "eval_samples=20", "--steps", "8",
         "--quiet"]
BOMB_BYTES = 64 << 20  # inflates to 64 MB from a record of ~64 KB


def _touch(path: str) -> None:
    """What a pickle payload would run: it must never."""
    Path(path).write_text("the payload ran")


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return _touch, (str(self.marker),)


@pytest.fixture(scope="module")
def good_cache(tmp_path_factory) -> bytes:
    """The bytes of a well-formed cache file for DATA."""
    folder = tmp_path_factory.mktemp("good-cache")
    Evaluator.for_data(DATA, cache_dir=folder)
    return cached_evaluator_path(DATA, folder).read_bytes()


def _compressed(good: bytes, bomb: bool = False) -> bytes:
    """The good cache's zip with its records deflated; with `bomb`, only its first storage record is, and it
    inflates to BOMB_BYTES of zeros (from ~64 KB in the file)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            bomb_record = bomb and info.filename.endswith("/data/0")
            record = zipfile.ZipInfo(info.filename)
            record.compress_type = zipfile.ZIP_DEFLATED if bomb_record or not bomb else zipfile.ZIP_STORED
            with target.open(record, "w", force_zip64=True) as member:
                if bomb_record:
                    for _ in range(BOMB_BYTES >> 20):
                        member.write(bytes(1 << 20))
                else:
                    member.write(source.read(info))
    return buffer.getvalue()


def _wrong_shapes(good: bytes) -> bytes:
    state = torch.load(io.BytesIO(good), weights_only=True)
    state["real_features"] = state["real_features"][:, :64].contiguous()  # (N, 64): not the classifier's 128
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _payload(good: bytes, marker: Path) -> bytes:
    state = torch.load(io.BytesIO(good), weights_only=True)
    state["classifier"] = _Payload(marker)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


BAD_KINDS = ["zero bytes", "text", "truncated", "pickle payload", "zip bomb", "compressed", "wrong shapes"]


def _bad_bytes(kind: str, good: bytes, marker: Path) -> bytes:
    return {"zero bytes": lambda: b"",
            "text": lambda: b"evaluator cache, but text\n" * 10,
            "truncated": lambda: good[: len(good) // 2],
            "pickle payload": lambda: _payload(good, marker),
            "zip bomb": lambda: _compressed(good, bomb=True),
            "compressed": lambda: _compressed(good),
            "wrong shapes": lambda: _wrong_shapes(good)}[kind]()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setenv("GAN_WORKBENCH_CACHE", str(folder))
    return folder


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """The names of the files torch.load opens (the cache is read through gan_core.quality.evaluator_cache)."""
    opened: list[str] = []
    real = torch.load

    def recording(source, *args, **kwargs):
        opened.append(Path(source).name if isinstance(source, (str, Path)) else "a buffer")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(evaluator_cache.torch, "load", recording)
    return opened


def _plant(kind: str, good: bytes, cache_dir: Path, tmp_path: Path) -> Path:
    path = cached_evaluator_path(DATA, cache_dir)
    path.write_bytes(_bad_bytes(kind, good, tmp_path / "payload-ran"))
    return path


def _rebuilt(path: Path, cache_dir: Path) -> None:
    """The bad file is set aside beside a new, good cache file that loads without training."""
    aside = [p for p in cache_dir.iterdir() if p.name.startswith(path.name + ".bad-")]
    assert len(aside) == 1, sorted(p.name for p in cache_dir.iterdir())
    again = Evaluator.for_data(DATA, cache_dir=cache_dir)
    assert not again.trained_now and again.real_features.shape == (200, 128)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_cache_file_is_set_aside_and_rebuilt_with_one_notice(kind, good_cache, cache_dir, tmp_path, loads):
    path = _plant(kind, good_cache, cache_dir, tmp_path)
    notices: list[str] = []
    evaluator = Evaluator.for_data(DATA, cache_dir=cache_dir, on_notice=notices.append)
    assert evaluator.trained_now and evaluator.real_features.shape == (200, 128)
    assert len(notices) == 1 and path.name in notices[0] and "set aside" in notices[0], notices
    assert "\n" not in notices[0]
    assert not (tmp_path / "payload-ran").exists()
    if kind in ("zero bytes", "text", "truncated", "zip bomb", "compressed"):
        assert path.name not in loads  # refused by its zip records, before torch.load
    _rebuilt(path, cache_dir)


def test_a_cache_over_the_size_an_evaluator_takes_is_refused_before_reading(good_cache, cache_dir, tmp_path, loads):
    path = cached_evaluator_path(DATA, cache_dir)
    with open(path, "wb") as file:
        file.write(good_cache)
        file.truncate(64 << 20)  # sparse: 64 MB on paper, where 200 images' evaluator takes ~1 MB
    notices: list[str] = []
    Evaluator.for_data(DATA, cache_dir=cache_dir, on_notice=notices.append)
    assert len(notices) == 1 and "bytes" in notices[0] and path.name not in loads
    _rebuilt(path, cache_dir)


@pytest.mark.parametrize("kind", ["text", "pickle payload", "zip bomb", "wrong shapes"])
def test_evaluate_rebuilds_a_bad_cache_with_one_line(kind, good_cache, cache_dir, tmp_path, capsys):
    path = _plant(kind, good_cache, cache_dir, tmp_path)
    config = preset("seed-mlp").with_changes({"data.limit": 200, "model.hidden_dim": 16, "training.device": "cpu"})
    assert config.data == DATA  # the checkpoint's data: the planted file is its evaluator's cache
    checkpoint = save_checkpoint(Trainer(config).state_dict(), tmp_path / "c.pt")
    assert cli(["evaluate", "--checkpoint", str(checkpoint), "--n", "20"]) == 0
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err, captured.err
    assert path.name in captured.err and "set aside" in captured.err
    assert "fid" in captured.out and not (tmp_path / "payload-ran").exists()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_training_run_with_a_bad_cache_trains_on(kind, good_cache, cache_dir, tmp_path, capsys):
    path = _plant(kind, good_cache, cache_dir, tmp_path)
    assert cli([*TRAIN, "--run-dir", str(tmp_path / "r")]) == 0, capsys.readouterr().err
    events = read_events(RunPaths(tmp_path / "r").events)
    notes = [e for e in events if e["kind"] == "quality_cache"]
    assert len(notes) == 1 and path.name in notes[0]["message"] and "set aside" in notes[0]["message"]
    assert not [e for e in events if e["kind"] in ("quality_unavailable", "failed")]
    assert (tmp_path / "r" / "quality.csv").read_text().count("\n") >= 2  # a header and an evaluation
    assert not (tmp_path / "payload-ran").exists()
    _rebuilt(path, cache_dir)


@pytest.mark.slow
def test_the_pages_background_evaluation_sets_a_bad_cache_aside_and_trains_it_in_the_child(good_cache, cache_dir,
                                                                                          tmp_path):
    import time

    from gan_core.record.opening import create_run_dir
    from gan_core.record.recorder import RunRecorder

    path = _plant("wrong shapes", good_cache, cache_dir, tmp_path)
    config = preset("seed-mlp").with_changes({"data.limit": 200, "model.hidden_dim": 16, "training.device": "cpu",
                                              "training.batch_size": 16, "training.eval_every": 2,
                                              "training.eval_samples": 20})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"), background_evaluation=True)
    deadline = time.monotonic() + 120
    while recorder.quality.last_row is None and time.monotonic() < deadline:
        assert recorder.record(trainer.step())
        while recorder.quality.preparing and time.monotonic() < deadline:
            time.sleep(0.1)  # the child runs at the lowest priority: leave it the CPU
    recorder.close()
    assert recorder.quality.last_row is not None and not recorder.quality.unavailable
    events = read_events(recorder.paths.events)
    [note] = [e for e in events if e["kind"] == "quality_cache"]
    assert path.name in note["message"] and "set aside" in note["message"]
    _rebuilt(path, cache_dir)
