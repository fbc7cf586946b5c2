"""The playground's views: D's surface, the generator's arrows (checked against hand gradients), G's mesh."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_core.views.toy_views import decision_surface, generator_arrows, grid_points, manifold_mesh

W = torch.tensor([1.5, -0.5])
B = 0.25


class LinearD(nn.Module):
    """logit = w . x + b, so every gradient is known by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        with torch.no_grad():
            self.layer.weight.copy_(W[None]), self.layer.bias.fill_(B)

    def forward(self, x):
        return self.layer(x).squeeze(1)


def test_arrows_are_minus_the_generator_loss_gradient_for_each_point():
    points = torch.tensor([[0.0, 0.0], [2.0, 1.0], [-4.0, 3.0]])
    logits = points @ W + B
    # non-saturating: L = mean softplus(-l); -dL/dx_i * N = sigmoid(-l_i) w
    expected = torch.sigmoid(-logits)[:, None] * W
    assert torch.allclose(generator_arrows(LinearD(), points, "non_saturating"), expected, atol=1e-6)
    # minimax: L = -mean softplus(l); -dL/dx_i * N = sigmoid(l_i) w: vanishes where D rejects (l << 0)
    expected = torch.sigmoid(logits)[:, None] * W
    arrows = generator_arrows(LinearD(), points, "minimax")
    assert torch.allclose(arrows, expected, atol=1e-6)
    assert arrows[2].norm() < 0.01 * generator_arrows(LinearD(), points, "non_saturating")[2].norm()


def test_arrows_match_autograd_on_a_small_mlp_and_leave_d_untouched():
    torch.manual_seed(0)
    d = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Flatten(0))
    d.train()
    points = torch.randn(5, 2)
    arrows = generator_arrows(d, points, "hinge")
    assert d.training and all(p.grad is None for p in d.parameters())  # D's own training state untouched
    for i in range(5):  # one point at a time, by hand: hinge L = -mean(l), N = 5
        x = points.clone().requires_grad_(True)
        (-d(x).mean()).backward()
        assert torch.allclose(arrows[i], -x.grad[i] * 5, atol=1e-6)


def test_surface_is_sigmoid_of_d_on_the_grid():
    surface = decision_surface(LinearD(), (-2.0, -2.0), (2.0, 2.0), cells=4)
    centres = grid_points((-2.0, -2.0), (2.0, 2.0), 4)
    assert centres[:2].tolist() == [[-1.5, -1.5], [-0.5, -1.5]]  # row 0 is the lowest y
    assert surface.shape == (4, 4)
    assert torch.allclose(surface.flatten(), torch.sigmoid(centres @ W + B), atol=1e-6)


def test_mesh_maps_the_latent_grid_through_g_only_for_a_2d_latent():
    identity = nn.Sequential(nn.Linear(2, 2))
    with torch.no_grad():
        identity[0].weight.copy_(torch.eye(2)), identity[0].bias.zero_()
    mesh = manifold_mesh(identity, 2, span=1.0, lines=3)
    assert mesh.shape == (3, 3, 2) and mesh[0, 0].tolist() == [-1.0, -1.0] and mesh[2, 1].tolist() == [0.0, 1.0]
    assert manifold_mesh(identity, 8) is None


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "least_squares", "hinge"])
def test_every_loss_gives_finite_arrows(loss):
    arrows = generator_arrows(LinearD(), torch.randn(7, 2), loss)
    assert arrows.shape == (7, 2) and torch.isfinite(arrows).all()


def test_point_models_map_latents_to_points_and_points_to_logits():
    from gan_core.nets.point_models import PointDiscriminator, PointGenerator

    torch.manual_seed(0)
    generator, discriminator = PointGenerator(2, hidden_dim=16, depth=3), PointDiscriminator(16, 1)
    points = generator(torch.randn(9, 2))
    assert points.shape == (9, 2) and discriminator(points).shape == (9,)
    assert sum(isinstance(m, nn.Linear) for m in generator.net) == 4  # depth hidden layers + output
    big = generator.net[-1]
    with torch.no_grad():
        big.bias.fill_(7.0)  # a linear output reaches past Tanh's [-1, 1]
    assert generator(torch.zeros(1, 2)).min() > 1.0
