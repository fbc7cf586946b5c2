"""Issue #10 items 7 and 11: checkpoints are vetted before the expensive work, and refused with a CheckpointError
that names the problem (never an IndexError, TypeError or a traceback from deep inside torch)."""

from __future__ import annotations

import copy
import zipfile

import pytest
import torch

from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.recorder import RunRecorder
from gan_core.runs import vetting as checkpoint_vetting
from gan_core.runs.checkpoint import load_checkpoint, load_generator, save_checkpoint
from gan_core.runs.vetting import CheckpointError


@pytest.fixture(scope="module")
def good_state():
    from tests.support.configs import tiny_config

    trainer = Trainer(tiny_config(ema_decay=0.9))
    trainer.step()
    return trainer.state_dict()


def _saved(state, tmp_path, name="c.pt"):
    return save_checkpoint(state, tmp_path / name)


def test_a_zero_byte_file_is_refused_as_empty(tmp_path):
    (tmp_path / "c.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_checkpoint(tmp_path / "c.pt")


def test_a_compressed_record_is_refused_before_it_is_inflated(tmp_path, good_state):
    source = _saved(good_state, tmp_path, "ok.pt")
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for record in original.infolist():
            out.writestr(record.filename, original.read(record))
        out.writestr("c/data/999", b"\0" * (8 << 20))  # 8 MB of zeros in a few KB
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match="compressed record"):
        load_checkpoint(bomb)


def test_declared_sizes_over_the_limit_are_refused_before_loading(tmp_path, good_state, monkeypatch):
    path = _saved(good_state, tmp_path)
    monkeypatch.setattr(checkpoint_vetting, "MAX_CHECKPOINT_BYTES", 1000)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran before the size check"))
    with pytest.raises(CheckpointError, match="over the limit of 1000"):
        load_checkpoint(path)


@pytest.mark.parametrize("changes", [{"hidden_dim": 8192, "depth": 16}, {"hidden_dim": 8192, "depth": 2}])
def test_a_tampered_model_size_is_refused_before_any_model_is_built(tmp_path, good_state, changes):
    state = copy.deepcopy(good_state)
    state["config"]["model"].update(changes)
    path = _saved(state, tmp_path)
    with pytest.raises(CheckpointError, match=r"parameters: over the limit of 50,000,000"):
        load_checkpoint(path)


@pytest.mark.parametrize("image_shape", [[1, 28, 27], [2, 28, 28], "1x28x28", [1, 100000, 100000], [1, 28]])
def test_a_tampered_image_shape_is_refused(tmp_path, good_state, image_shape):
    state = copy.deepcopy(good_state)
    state["image_shape"] = image_shape
    with pytest.raises(CheckpointError, match="image_shape"):
        load_generator(_saved(state, tmp_path))


@pytest.mark.parametrize("tamper, message", [
    (lambda s: s.__setitem__("generator", 5), "generator is a int, not a dict"),
    (lambda s: s["generator"].__setitem__("net.0.weight", [1.0, 2.0]), "net.0.weight is a list, not a tensor"),
    (lambda s: s["generator"].__setitem__("net.0.weight", s["generator"]["net.0.weight"].double()),
     "expects torch.float32"),
    (lambda s: s["generator_ema"].__setitem__("net.0.bias", torch.zeros(3)), "generator_ema.net.0.bias has shape"),
    (lambda s: s.__setitem__("rng", torch.zeros(3)), "rng is a 1-d torch.float32"),
    (lambda s: s.__setitem__("noise_rng", torch.zeros(7, dtype=torch.uint8)), "not a generator state"),
    (lambda s: s.__setitem__("sampler", {"epoch": 0}), "sampler must be a dict"),
    (lambda s: s["sampler"].__setitem__("position", -4), "sampler.position"),
    (lambda s: s["sampler"].__setitem__("order", torch.zeros(2, 2, dtype=torch.int64)), "sampler.order"),
    (lambda s: s.__setitem__("fixed_noise", torch.zeros(3, 8)), "fixed_noise"),
    (lambda s: s.__setitem__("step", "12"), "step is '12'"),
    (lambda s: s["optimizer_g"].__setitem__("state", {0: {"exp_avg": torch.zeros(2)}}), "exp_avg has shape"),
    (lambda s: s["optimizer_d"].__setitem__("param_groups", [{"params": [0]}]), "do not cover"),
    (lambda s: s["optimizer_g"]["param_groups"][0].__setitem__("lr", float("nan")), "lr is nan"),
    (lambda s: s.__setitem__("config", []), "invalid config"),
])
def test_tampered_structures_are_refused_with_a_message_naming_them(tmp_path, good_state, tamper, message):
    state = copy.deepcopy(good_state)
    tamper(state)
    with pytest.raises(CheckpointError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_checkpoint(_saved(state, tmp_path))


def test_nan_weights_are_refused_by_load_generator(tmp_path, good_state):
    state = copy.deepcopy(good_state)
    state["generator_ema"]["net.0.weight"][0, 0] = float("nan")
    path = _saved(state, tmp_path)
    load_checkpoint(path)  # a resume may restore it (the session restores the last good state itself)
    with pytest.raises(CheckpointError, match="non-finite"):
        load_generator(path)


def test_a_batch_order_that_does_not_fit_the_data_is_refused_on_resume(tiny, tmp_path):
    trainer = Trainer(tiny)
    recorder = RunRecorder(trainer, create_run_dir(tiny, run_dir=tmp_path / "r"))
    for _ in range(10):
        recorder.record(trainer.step())
    recorder.close()
    state = load_checkpoint(recorder.paths.latest)
    state["sampler"]["order"] = torch.arange(5)  # 400 images in the set
    save_checkpoint(state, recorder.paths.latest)
    with pytest.raises(CheckpointError, match="batch order does not fit"):
        open_run_for_resume(recorder.paths.root)


@pytest.mark.parametrize("norm", ["spectral", "batch"])
def test_vetting_accepts_every_discriminator_norm(tmp_path, norm):
    from tests.support.configs import tiny_config

    trainer = Trainer(tiny_config().with_changes({"model.discriminator_norm": norm}))
    trainer.step()
    resumed = Trainer(trainer.config)
    resumed.load_state_dict(load_checkpoint(_saved(trainer.state_dict(), tmp_path)))
    assert resumed.step_count == 1


def test_messages_name_an_upload_by_its_own_name_not_the_server_path(tmp_path, good_state):
    state = copy.deepcopy(good_state)
    state["image_shape"] = [1, 28, 27]
    path = _saved(state, tmp_path, "tmp8f3k2.pt")
    with pytest.raises(CheckpointError) as refused:
        load_generator(path, name="my-upload.pt")
    assert "my-upload.pt" in str(refused.value) and str(tmp_path) not in str(refused.value)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="my-upload.pt is empty") as refused:
        load_generator(tmp_path / "empty.pt", name="my-upload.pt")
    assert str(tmp_path) not in str(refused.value)
