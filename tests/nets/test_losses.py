import pytest
import torch

from gan_core.nets.losses import discriminator_loss, generator_loss

REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([-1.0, 3.0])


def softplus(x: float) -> float:
    import math

    return math.log1p(math.exp(x))


# Values computed by hand from the formulas in losses.py's docstring.
D_EXPECTED = {
    "non_saturating": (softplus(0) + softplus(-2)) / 2 + (softplus(-1) + softplus(3)) / 2,
    "minimax": (softplus(0) + softplus(-2)) / 2 + (softplus(-1) + softplus(3)) / 2,
    "least_squares": 0.5 * (1 + 1) / 2 + 0.5 * (1 + 9) / 2,
    "hinge": (1 + 0) / 2 + (0 + 4) / 2,
}
G_EXPECTED = {
    "non_saturating": (softplus(1) + softplus(-3)) / 2,
    "minimax": -(softplus(-1) + softplus(3)) / 2,
    "least_squares": 0.5 * (4 + 4) / 2,
    "hinge": -1.0,
}


@pytest.mark.parametrize("name", list(D_EXPECTED))
def test_discriminator_loss_by_hand(name):
    assert discriminator_loss(name, REAL, FAKE).item() == pytest.approx(D_EXPECTED[name], rel=1e-6)


@pytest.mark.parametrize("name", list(G_EXPECTED))
def test_generator_loss_by_hand(name):
    assert generator_loss(name, FAKE).item() == pytest.approx(G_EXPECTED[name], rel=1e-6)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    smoothed = discriminator_loss("non_saturating", REAL, FAKE, label_smoothing=0.1).item()
    real_part = ((0.9 * softplus(0) + 0.1 * softplus(0)) + (0.9 * softplus(-2) + 0.1 * softplus(2))) / 2
    assert smoothed == pytest.approx(real_part + (softplus(-1) + softplus(3)) / 2, rel=1e-6)
    hinge = discriminator_loss("hinge", REAL, FAKE, label_smoothing=0.5).item()
    assert hinge == pytest.approx((0.5 + 0) / 2 + 2.0)


def test_minimax_saturates_where_non_saturating_does_not():
    # D confidently rejects a fake (D(G(z)) ~ 4.5e-5): the seed post's early-training case.
    logit = torch.tensor([-10.0], requires_grad=True)
    generator_loss("minimax", logit).backward()
    minimax_grad = logit.grad.abs().item()
    logit.grad = None
    generator_loss("non_saturating", logit).backward()
    assert minimax_grad < 1e-4 and logit.grad.abs().item() > 0.99


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="wasserstein"):
        generator_loss("wasserstein", FAKE)
