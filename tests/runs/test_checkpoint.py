import pytest
import torch

from gan_core.engine.trainer import Trainer
from gan_core.runs.checkpoint import load_checkpoint, load_generator, restore, save_checkpoint
from gan_core.runs.vetting import CheckpointError
from tests.support.configs import LOSS_COLUMNS


def _rows(trainer, count):
    return [[row[k] for k in LOSS_COLUMNS] for row in (trainer.step() for _ in range(count))]


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_resume_is_bit_exact(tiny, tmp_path, architecture):
    config = tiny.with_changes({"training.ema_decay": 0.5, "model.architecture": architecture,
                                "model.base_channels": 4, "model.discriminator_norm":
                                "batch" if architecture == "dcgan" else "none"})
    straight = _rows(Trainer(config), 30)  # crosses an epoch boundary (400 / 16 = 25 batches)
    first = Trainer(config)
    half = _rows(first, 15)
    save_checkpoint(first.state_dict(), tmp_path / "c.pt")
    resumed = Trainer(config)
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.pt"))
    assert resumed.step_count == 15
    assert half + _rows(resumed, 15) == straight


def test_save_is_atomic_and_leaves_no_temp_files(tiny, tmp_path):
    trainer = Trainer(tiny)
    path = save_checkpoint(trainer.state_dict(), tmp_path / "ck" / "latest.pt")
    assert [p.name for p in path.parent.iterdir()] == ["latest.pt"]
    state = load_checkpoint(path)
    assert state["step"] == 0 and state["image_shape"] == [1, 28, 28]


def test_refuses_a_file_that_is_not_torch(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a GAN Workbench checkpoint"):
        load_checkpoint(path)


def test_refuses_a_torch_file_without_our_marker(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="format marker"):
        load_checkpoint(tmp_path / "other.pt")


class Payload:
    """Any pickled object: weights_only loading must refuse it."""


def test_refuses_pickled_objects(tmp_path):
    torch.save({"format": "gan-workbench-checkpoint", "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not plain tensors"):
        load_checkpoint(tmp_path / "evil.pt")


def test_refuses_a_truncated_file(tiny, tmp_path):
    path = save_checkpoint(Trainer(tiny).state_dict(), tmp_path / "c.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_refuses_shapes_that_do_not_fit(tiny, tmp_path):
    path = save_checkpoint(Trainer(tiny).state_dict(), tmp_path / "c.pt")
    wider = Trainer(tiny.with_changes({"model.hidden_dim": 24}))
    with pytest.raises(CheckpointError, match=r"does not fit the config: generator\.net\.0\.weight"):
        restore(wider, load_checkpoint(path))


def test_refuses_missing_and_future_versions(tiny, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    state = Trainer(tiny).state_dict()
    state["schema_version"] = 99
    save_checkpoint(state, tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="schema version 99"):
        load_checkpoint(tmp_path / "future.pt")


def test_load_generator_prefers_ema_weights(tiny, tmp_path):
    trainer = Trainer(tiny.with_changes({"training.ema_decay": 0.9}))
    trainer.step()
    path = save_checkpoint(trainer.state_dict(), tmp_path / "c.pt")
    generator, config, _ = load_generator(path)
    assert not generator.training and config == trainer.config
    ema_weight = trainer.ema_generator.state_dict()["net.0.weight"]
    assert torch.equal(generator.state_dict()["net.0.weight"], ema_weight)
