"""DiffAugment ops, ADA's adaptive probability and the R1 penalty."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_core.nets.augment import AUGMENT_OPS, AdaptiveProbability, diff_augment
from gan_core.nets.penalties import r1_due, r1_penalty, r1_weight


def _images(batch: int = 16, channels: int = 3, side: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, channels, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("ops", [("translation",), ("cutout",), ("color",), AUGMENT_OPS])
def test_ops_keep_shape_and_range_and_change_images_at_p_1(ops):
    images = _images()
    out = diff_augment(images, ops, 1.0, torch.Generator().manual_seed(1))
    assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1
    changed = (out != images).flatten(1).any(dim=1)
    assert changed.float().mean() > 0.5  # nearly every image is transformed (a zero shift can leave one)


def test_p_zero_is_the_identity_and_draws_nothing():
    images, generator = _images(), torch.Generator().manual_seed(3)
    before = generator.get_state()
    assert diff_augment(images, AUGMENT_OPS, 0.0, generator) is images
    assert torch.equal(generator.get_state(), before)


def test_probability_sets_the_share_of_images_transformed():
    images = _images(batch=2000, channels=1, side=8)
    out = diff_augment(images, ("color",), 0.3, torch.Generator().manual_seed(2))
    share = (out != images).flatten(1).any(dim=1).float().mean().item()
    assert 0.25 < share < 0.35


def test_translation_moves_pixels_and_fills_with_black():
    image = -torch.ones(1, 1, 8, 8)
    image[0, 0, 4, 4] = 1.0
    seen = set()
    for seed in range(30):
        out = diff_augment(image, ("translation",), 1.0, torch.Generator().manual_seed(seed))
        assert (out == 1).sum() <= 1 and ((out == 1) | (out == -1)).all()  # one bright pixel moved, rest black
        seen.add(tuple((out[0, 0] == 1).nonzero().flatten().tolist()))
    assert len(seen) > 5


def test_gradients_flow_through_every_op_to_the_generator():
    generator_net = nn.Linear(4, 3 * 8 * 8)
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    fake = torch.tanh(generator_net(z)).view(6, 3, 8, 8)
    out = diff_augment(fake, AUGMENT_OPS, 1.0, torch.Generator().manual_seed(4))
    out.sum().backward()
    assert generator_net.weight.grad is not None and generator_net.weight.grad.abs().sum() > 0


def test_same_generator_state_gives_the_same_augmentation():
    images = _images()
    a = diff_augment(images, AUGMENT_OPS, 0.5, torch.Generator().manual_seed(9))
    b = diff_augment(images, AUGMENT_OPS, 0.5, torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


def test_bad_ops_and_probabilities_are_refused_by_name():
    with pytest.raises(ValueError, match="augment ops \\['blur'\\] are invalid: allowed translation"):
        diff_augment(_images(), ("blur",), 0.5)
    with pytest.raises(ValueError, match="probability=1.5 is invalid"):
        diff_augment(_images(), ("color",), 1.5)


def test_adaptive_p_rises_when_d_overfits_and_falls_otherwise():
    controller = AdaptiveProbability(target=0.6, speed_images=1000)
    overfit = torch.full((100,), 3.0)  # D calls every real image real: r_t = 1
    for _ in range(5):
        controller.update(overfit)
    assert controller.signal == 1.0 and controller.probability == pytest.approx(0.5)
    healthy = torch.cat([torch.full((60,), 2.0), torch.full((40,), -2.0)])  # r_t = 0.2 < 0.6
    controller.update(healthy)
    assert controller.signal == pytest.approx(0.2) and controller.probability == pytest.approx(0.4)
    for _ in range(10):
        controller.update(healthy)
    assert controller.probability == 0.0  # never below 0
    restored = AdaptiveProbability()
    restored.load_state_dict(controller.state_dict())
    assert (restored.probability, restored.signal) == (controller.probability, controller.signal)


def test_r1_equals_the_hand_computed_penalty_on_a_linear_and_a_quadratic_d():
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    linear = lambda x: x.flatten(1) @ w + 0.7  # noqa: E731  gradient w for every image
    real = torch.randn(5, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    assert r1_penalty(linear, real).item() == pytest.approx(float(w.pow(2).sum()))  # 1 + 4 + 0.25 + 9
    quadratic = lambda x: (x.flatten(1) ** 2).sum(dim=1)  # noqa: E731  gradient 2x, squared norm 4|x|^2
    expected = (4 * real.flatten(1).pow(2).sum(dim=1)).mean()
    assert r1_penalty(quadratic, real).item() == pytest.approx(expected.item(), rel=1e-6)


def test_r1_penalty_trains_d_parameters_and_leaves_the_input_alone():
    d = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    real = torch.randn(3, 1, 2, 2)
    r1_penalty(d, real).backward()
    # Every parameter that shapes dD/dx gets a gradient; the last bias does not shape it (None).
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in (d[1].weight, d[1].bias, d[3].weight))
    assert d[3].bias.grad is None and not real.requires_grad


def test_lazy_schedule_and_weight():
    assert [s for s in range(10) if r1_due(s, 10.0, 4)] == [0, 4, 8]
    assert not any(r1_due(s, 0.0, 1) for s in range(5))
    assert r1_weight(10.0, 4) == 20.0
    with pytest.raises(ValueError, match="interval=0 are invalid"):
        r1_weight(1.0, 0)


def _d_input_gradient(trainer) -> float:
    """Mean squared norm of dD/dx on 128 real images: what R1 pushes down."""
    return r1_penalty(trainer.discriminator, trainer.images[:128].float()).item()


def test_r1_in_the_trainer_flattens_d_around_the_data(tiny):
    from gan_core.engine.trainer import Trainer

    plain, penalised = Trainer(tiny), Trainer(tiny.with_changes({"loss.r1_gamma": 10.0, "loss.r1_interval": 2}))
    assert torch.equal(plain.discriminator.net[1].weight, penalised.discriminator.net[1].weight)  # same start
    for _ in range(60):
        plain.step(), penalised.step()
    assert _d_input_gradient(penalised) < 0.5 * _d_input_gradient(plain)


def test_r1_runs_only_on_its_lazy_steps_with_the_scaled_weight(tiny, monkeypatch):
    from gan_core.engine import trainer as trainer_module

    calls = []

    def counting(discriminator, real):
        calls.append(trainer.step_count)
        return r1_penalty(discriminator, real)

    monkeypatch.setattr(trainer_module, "r1_penalty", counting)
    trainer = trainer_module.Trainer(tiny.with_changes({"loss.r1_gamma": 10.0, "loss.r1_interval": 3,
                                                        "optimizer.d_steps_per_g_step": 2}))
    for _ in range(7):
        trainer.step()
    assert calls == [0, 3, 6]  # once per iteration (not per D step), every 3rd iteration


def test_r1_config_is_validated_and_refused_under_torchrun(tiny):
    from gan_core.engine.distributed import DistributedInfo
    from gan_core.engine.trainer import Trainer

    with pytest.raises(ValueError, match="loss.r1_gamma=-1.0 is invalid: allowed a number from 0 to 1000"):
        tiny.with_changes({"loss.r1_gamma": -1.0})
    with pytest.raises(ValueError, match="loss.r1_interval=0 is invalid"):
        tiny.with_changes({"loss.r1_interval": 0})
    info = DistributedInfo(rank=0, world_size=2, local_rank=0)
    with pytest.raises(ValueError, match="r1_gamma=1.0 is invalid under torchrun"):
        Trainer(tiny.with_changes({"loss.r1_gamma": 1.0}), distributed=info)
