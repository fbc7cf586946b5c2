import math

import pytest
import torch

from gan_core.columns import METRIC_NAMES
from gan_core.engine.trainer import Trainer
from tests.support.configs import LOSS_COLUMNS


def test_step_returns_a_full_finite_row(tiny):
    trainer = Trainer(tiny)
    row = trainer.step()
    assert tuple(row) == METRIC_NAMES
    assert row["step"] == 1 and trainer.step_count == 1
    assert all(math.isfinite(row[name]) for name in METRIC_NAMES)
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1 and row["grad_norm_d"] > 0


def _tensors(tensors) -> list[torch.Tensor | None]:
    """Copies of parameters or their gradients (None for a parameter without one)."""
    return [None if t is None else t.detach().clone() for t in tensors]


def _same(before: list[torch.Tensor | None], after: list[torch.Tensor | None]) -> bool:
    return all((a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
               for a, b in zip(before, after, strict=True))


@pytest.mark.parametrize("d_steps", [1, 2])
def test_step_updates_both_networks_and_d_on_detached_fakes(tiny, d_steps, monkeypatch):
    """D's update sees G untouched: no gradient reached G's parameters (the fakes were detached) and G did not
    move; then G's own update moves it. Checked on the second step too, when G's gradients are left over."""
    trainer = Trainer(tiny.with_changes({"optimizer.d_steps_per_g_step": d_steps}))
    seen_at_d_updates: list[tuple[bool, bool]] = []  # (G's gradients unchanged, G's weights unchanged)
    d_step = trainer.optimizer_d.step

    def checked_d_step(*args, **kwargs):
        seen_at_d_updates.append((_same(g_grads, _tensors(p.grad for p in trainer.generator.parameters())),
                                  _same(g_before, _tensors(trainer.generator.parameters()))))
        return d_step(*args, **kwargs)

    monkeypatch.setattr(trainer.optimizer_d, "step", checked_d_step)
    for _ in range(2):
        g_before = _tensors(trainer.generator.parameters())
        g_grads = _tensors(p.grad for p in trainer.generator.parameters())  # None at first, then the last G step's
        d_before = _tensors(trainer.discriminator.parameters())
        try:
            trainer.step()
        finally:  # a D loss that reached G also breaks G's backward: report what the D phase did first
            assert seen_at_d_updates and all(grads for grads, _ in seen_at_d_updates), \
                "the D update backpropagated into G (G's gradients changed in the D phase): fakes not detached"
            assert all(weights for _, weights in seen_at_d_updates), "G's weights moved during the D update"
        assert len(seen_at_d_updates) == d_steps
        seen_at_d_updates.clear()
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


def test_ema_generator_follows_the_generator_by_its_decay(tiny):
    """After each G update: ema = decay * ema + (1 - decay) * G, for every parameter; so it lags G."""
    decay = 0.9  # not 0.5: a decay applied the wrong way round must give other numbers
    # A large lr_g: G moves ~1e-2 a step, so an EMA that stands still misses by ~1e-3, far outside the tolerance.
    trainer = Trainer(tiny.with_changes({"training.ema_decay": decay, "optimizer.lr_g": 1e-2}))
    assert _same(_tensors(trainer.ema_generator.parameters()), _tensors(trainer.generator.parameters()))
    for _ in range(3):
        ema_before = _tensors(trainer.ema_generator.parameters())
        trainer.step()
        for ema_old, ema, live in zip(ema_before, trainer.ema_generator.parameters(), trainer.generator.parameters(),
                                      strict=True):
            torch.testing.assert_close(ema, decay * ema_old + (1 - decay) * live.detach(), rtol=1e-5, atol=1e-6)
            assert not torch.equal(ema, live)  # it lags
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
