import math

import pytest
import torch

from gan_core.columns import METRIC_NAMES
from gan_core.engine.trainer import Trainer

LOSS_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake", "d_fake_after", "grad_norm_d", "grad_norm_g")


def test_step_returns_a_full_finite_row(tiny):
    trainer = Trainer(tiny)
    row = trainer.step()
    assert tuple(row) == METRIC_NAMES
    assert row["step"] == 1 and trainer.step_count == 1
    assert all(math.isfinite(row[name]) for name in METRIC_NAMES)
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1 and row["grad_norm_d"] > 0


def test_step_updates_both_networks_and_d_on_detached_fakes(tiny):
    trainer = Trainer(tiny)
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    trainer.step()
    assert all(not torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters()))


def test_same_seed_same_rows_other_seed_other_rows(tiny):
    first = [Trainer(tiny).step() for _ in range(1)]
    a, b = Trainer(tiny), Trainer(tiny)
    c = Trainer(tiny.with_changes({"training.seed": 7}))
    rows_a = [a.step() for _ in range(5)]
    rows_b = [b.step() for _ in range(5)]
    rows_c = [c.step() for _ in range(5)]
    assert first[0]["d_loss"] == rows_a[0]["d_loss"]
    assert [[r[k] for k in LOSS_COLUMNS] for r in rows_a] == [[r[k] for k in LOSS_COLUMNS] for r in rows_b]
    assert rows_a[-1]["d_loss"] != rows_c[-1]["d_loss"]


def test_several_d_steps_per_g_step_consume_more_batches(tiny):
    trainer = Trainer(tiny.with_changes({"optimizer.d_steps_per_g_step": 3}))
    trainer.step()
    assert trainer.sampler.position == 3 * tiny.training.batch_size


def test_live_hyperparameter_update(tiny):
    trainer = Trainer(tiny)
    old = trainer.update_hyperparameters({"optimizer.lr_g": 1e-3, "optimizer.beta1": 0.5, "loss.loss": "hinge"})
    assert old == {"optimizer.lr_g": 2e-4, "optimizer.beta1": 0.9, "loss.loss": "non_saturating"}
    assert trainer.optimizer_g.param_groups[0]["lr"] == 1e-3
    assert trainer.optimizer_d.param_groups[0]["betas"] == (0.5, 0.999)
    assert trainer.step()["lr_g"] == 1e-3 and trainer.config.loss.loss == "hinge"
    with pytest.raises(ValueError, match="batch_size"):
        trainer.update_hyperparameters({"training.batch_size": 3})
    with pytest.raises(ValueError, match="optimizer.lr_d"):
        trainer.update_hyperparameters({"optimizer.lr_d": -1.0})


def test_ema_generator_lags_the_generator(tiny):
    trainer = Trainer(tiny.with_changes({"training.ema_decay": 0.9}))
    for _ in range(3):
        trainer.step()
    ema = list(trainer.ema_generator.parameters())[0]
    live = list(trainer.generator.parameters())[0]
    assert not torch.equal(ema, live)
    assert trainer.sampling_generator() is trainer.ema_generator


def test_dcgan_with_batch_norm_trains(tiny):
    config = tiny.with_changes({"model.architecture": "dcgan", "model.base_channels": 4,
                                "model.discriminator_norm": "batch"})
    trainer = Trainer(config)
    assert not trainer._joint_d_pass
    row = trainer.step()
    assert math.isfinite(row["d_loss"]) and trainer.sample_fixed().shape == (16, 1, 28, 28)


def test_cuda_without_gpu_is_a_clear_error(tiny):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="training.device='cuda'"):
        Trainer(tiny.with_changes({"training.device": "cuda"}))
