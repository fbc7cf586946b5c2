"""R1 gradient penalty on real images (Mescheder et al. 2018), applied lazily (Karras et al. 2020, StyleGAN2).

R1 = E_x[ ||grad_x D(x)||^2 ] over real images only: it flattens D's surface around the data, the stabiliser
most image GANs now use. Computing it every step doubles D's backward cost, so it runs every `interval`
steps with its weight multiplied by `interval`, which keeps the average pull the same.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def r1_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real_images: torch.Tensor) -> torch.Tensor:
    """E over the batch of the squared norm of dD(x)/dx for real images (B, ...); a scalar with a graph."""
    real = real_images.detach().requires_grad_(True)
    logits = discriminator(real)  # (B,) or (B, 1)
    # Each logit depends only on its own image, so the gradient of the sum gives every image's gradient.
    (gradients,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return gradients.pow(2).flatten(1).sum(dim=1).mean()


def r1_weight(gamma: float, interval: int) -> float:
    """The weight of the penalty on the steps it runs: gamma / 2, times the lazy interval."""
    if gamma < 0 or interval < 1:
        raise ValueError(f"r1 gamma={gamma!r} and interval={interval!r} are invalid: allowed gamma >= 0, "
                         "interval >= 1")
    return gamma / 2 * interval


def r1_due(step: int, gamma: float, interval: int) -> bool:
    """Whether the penalty runs at this step (0-based): gamma on, and every `interval` steps."""
    return gamma > 0 and step % interval == 0
