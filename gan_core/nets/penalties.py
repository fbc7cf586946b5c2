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


def mode_seeking_penalty(fakes: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSGAN's diversity term (Mao et al. 2019) on the batch's two halves, which share their conditions:
    1 / (mean |G(z_a) - G(z_b)| / mean |z_a - z_b|). Large when different z give alike images; a scalar."""
    half = fakes.shape[0] // 2
    if half < 1:
        raise ValueError(f"the mode-seeking term needs a batch of at least 2 fakes, got {fakes.shape[0]}")
    image_distance = (fakes[:half] - fakes[half:2 * half]).abs().mean()
    noise_distance = (z[:half] - z[half:2 * half]).abs().mean()
    return 1.0 / (image_distance / noise_distance + 1e-5)


def pair_conditions(z: torch.Tensor, labels: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """For the mode-seeking term: the second half of the batch takes the first half's condition, so each pair
    differs only in the style part of z. A self-conditioned G reads its cluster off z[:, 0], so that
    coordinate is shared; a conditional one gets the same labels. z (B, latent_dim), labels () or ((B,),)."""
    half = z.shape[0] // 2
    z = z.clone()
    z[half:2 * half, 0] = z[:half, 0]
    paired = []
    for label in labels:
        label = label.clone()
        label[half:2 * half] = label[:half]
        paired.append(label)
    return z, tuple(paired)
