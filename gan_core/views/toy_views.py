"""What the playground draws for a 2D GAN (#11), as plain tensors: D's surface, G's pull on each fake, G's mesh.

Pure functions of the models (no IO, no drawing), evaluated without touching the models' training state:
- decision_surface: D(x) = sigmoid(logit) on a cells x cells grid over the visible box;
- generator_arrows: for each fake point x = G(z), the direction the generator's loss pushes it,
  -dL_G/dx. With the minimax loss this vanishes where D confidently rejects x, which is the seed post's
  argument made visible; the non-saturating loss keeps it large there;
- manifold_mesh: for a 2D latent, a grid of z mapped through G, whose rows and columns draw as a deformed mesh.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_core.nets.losses import generator_loss

SURFACE_CELLS = 64
MESH_LINES = 21


def _evaluating(model: nn.Module):
    """A context that puts `model` in eval mode and restores its mode after."""

    class _Eval:
        def __enter__(self):
            self.was_training = model.training
            model.eval()

        def __exit__(self, *exc):
            model.train(self.was_training)

    return _Eval()


def grid_points(low: tuple[float, float], high: tuple[float, float], cells: int = SURFACE_CELLS) -> torch.Tensor:
    """(cells * cells, 2) cell centres of the box [low, high], row by row from low y upward."""
    xs = low[0] + (torch.arange(cells, dtype=torch.float32) + 0.5) * (high[0] - low[0]) / cells
    ys = low[1] + (torch.arange(cells, dtype=torch.float32) + 0.5) * (high[1] - low[1]) / cells
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.flatten(), y.flatten()], dim=1)


@torch.no_grad()
def decision_surface(discriminator: nn.Module, low: tuple[float, float], high: tuple[float, float],
                     cells: int = SURFACE_CELLS) -> torch.Tensor:
    """(cells, cells) D(x) in [0, 1] over the box; row i is the i-th y from the bottom."""
    device = next(discriminator.parameters()).device
    with _evaluating(discriminator):
        logits = discriminator(grid_points(low, high, cells).to(device)).reshape(cells, cells)
    return torch.sigmoid(logits).cpu()


def generator_arrows(discriminator: nn.Module, fake_points: torch.Tensor, loss_name: str) -> torch.Tensor:
    """(N, 2): -dL_G/dx at each fake point x (N, 2), L_G the generator's loss as the Trainer averages it.

    The loss is a mean over the batch, so each point's gradient carries a 1/N; the arrows are scaled by N
    so their length does not depend on how many points are drawn.
    """
    points = fake_points.detach().clone().requires_grad_(True)
    with _evaluating(discriminator):
        loss = generator_loss(loss_name, discriminator(points).reshape(-1))
    (gradient,) = torch.autograd.grad(loss, points)
    return (-gradient * points.shape[0]).detach()


@torch.no_grad()
def manifold_mesh(generator: nn.Module, latent_size: int, span: float = 2.5,
                  lines: int = MESH_LINES) -> torch.Tensor | None:
    """(lines, lines, 2): G(z) for z on a lines x lines grid of [-span, span]^2; None unless the latent is 2D."""
    if latent_size != 2:
        return None
    device = next(generator.parameters()).device
    axis = torch.linspace(-span, span, lines)
    zy, zx = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.stack([zx.flatten(), zy.flatten()], dim=1).to(device)
    with _evaluating(generator):
        return generator(z).reshape(lines, lines, 2).cpu()
