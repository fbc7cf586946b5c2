"""Generator/discriminator loss pairs on logits, chosen by name.

All take D's raw logits l (B,). With D(x) = sigmoid(l):
- non_saturating: D minimises BCE; G minimises -log D(G(z)) (the seed's choice).
- minimax: same D; G minimises log(1 - D(G(z))), which saturates (flat gradient) when D
  confidently rejects fakes, the early-training situation the seed post explains.
- least_squares (LSGAN): D pushes real outputs to 1 and fake outputs to 0; G pushes fakes to 1.
- hinge: D minimises relu(1 - l_real) + relu(1 + l_fake); G minimises -l_fake.
One-sided label smoothing replaces the real target 1 by 1 - smoothing (hinge: the margin).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_core.config.schema import LOSS_NAMES


def discriminator_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       label_smoothing: float = 0.0) -> torch.Tensor:
    """D's loss for real logits (B,) and fake logits (B,), as a scalar (real part + fake part)."""
    real_target = 1.0 - label_smoothing
    if name in ("non_saturating", "minimax"):
        # BCE-with-logits: stable for large |l|, unlike Sigmoid followed by BCELoss.
        real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
        fake = F.softplus(fake_logits).mean()  # = BCE(fake_logits, 0)
        return real + fake
    if name == "least_squares":
        return 0.5 * ((real_logits - real_target) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()
    if name == "hinge":
        return F.relu(real_target - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    raise ValueError(f"loss={name!r} is invalid: allowed one of {', '.join(LOSS_NAMES)}")


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss for D's logits (B,) on generated images, as a scalar."""
    if name == "non_saturating":
        return F.softplus(-fake_logits).mean()  # -log sigmoid(l) = -log D(G(z))
    if name == "minimax":
        return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(l)) = log(1 - D(G(z)))
    if name == "least_squares":
        return 0.5 * ((fake_logits - 1.0) ** 2).mean()
    if name == "hinge":
        return -fake_logits.mean()
    raise ValueError(f"loss={name!r} is invalid: allowed one of {', '.join(LOSS_NAMES)}")
