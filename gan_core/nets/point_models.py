"""Models for 2D points (#11): an MLP generator z -> (x, y) and an MLP discriminator (x, y) -> logit.

As GAN Lab's: small fully connected nets with a linear output, since toy data lives on [-5, 5]^2, not in
Tanh's [-1, 1]. Depth and width are the same fields as the image MLP's (model.depth, model.hidden_dim).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

POINT_DIM = 2


def _mlp(width_in: int, width_out: int, hidden_dim: int, depth: int,
         activation: Callable[[], nn.Module]) -> nn.Sequential:
    """Linear layers with `activation` between them: width_in -> hidden_dim x depth -> width_out."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width_in, hidden_dim), activation()]
        width_in = hidden_dim
    layers.append(nn.Linear(width_in, width_out))
    return nn.Sequential(*layers)


class PointGenerator(nn.Module):
    """z (B, latent_dim) -> [Linear, ReLU] x depth -> Linear -> points (B, 2), unbounded."""

    def __init__(self, latent_dim: int, hidden_dim: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.net = _mlp(latent_dim, POINT_DIM, hidden_dim, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, 2)."""
        return self.net(z)


class PointDiscriminator(nn.Module):
    """points (B, 2) -> [Linear, LeakyReLU(0.2)] x depth -> Linear -> logits (B,)."""

    def __init__(self, hidden_dim: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.net = _mlp(POINT_DIM, 1, hidden_dim, depth, lambda: nn.LeakyReLU(0.2))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """(B, 2) -> (B,) logits; sigmoid(logit) is D's probability that the point is real."""
        return self.net(points.reshape(points.shape[0], POINT_DIM)).view(-1)
