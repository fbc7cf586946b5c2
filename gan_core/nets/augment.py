"""Differentiable augmentation for D on small data (Zhao et al. 2020, "DiffAugment"; Karras et al. 2020, "ADA").

The same random transforms are drawn for real and fake batches alike and applied before D sees them; each op
is built from pads, gathers and arithmetic, so gradients flow through to G (augmenting only reals would teach
G to make augmented images). Each op hits each image with probability p; at p = 0 the images pass unchanged.
Images are (B, C, H, W) in [-1, 1] and stay in that range.

AdaptiveProbability tunes p from D's overfitting signal r_t = E[sign(D(x_real))] (ADA): when D is too sure
of the reals (r_t above the target), p rises; otherwise it falls, at a speed set in images per unit of p.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

AUGMENT_OPS = ("translation", "cutout", "color")
TRANSLATION_RATIO = 0.125  # shift up to 1/8 of the side, as DiffAugment
CUTOUT_RATIO = 0.5  # a square of half the side, as DiffAugment
ADA_TARGET = 0.6  # r_t that ADA aims for
ADA_SPEED_IMAGES = 100_000  # images for p to move by 1 (ADA: 500k; our runs are ~100x shorter)


def _chosen(batch: int, probability: float, generator: torch.Generator | None, device) -> torch.Tensor:
    """(B, 1, 1, 1) bool: which images an op applies to."""
    draw = torch.rand(batch, 1, 1, 1, generator=generator, device=device)
    return draw < probability


def _color(images: torch.Tensor, generator, device) -> torch.Tensor:
    """Random brightness, saturation and contrast, per image."""
    batch = images.shape[0]
    rand = lambda: torch.rand(batch, 1, 1, 1, generator=generator, device=device)  # noqa: E731
    images = images + (rand() - 0.5)  # brightness: shift by up to +-0.5 (a quarter of the range)
    if images.shape[1] > 1:  # saturation: scale each pixel's distance from its grey by 0..2
        grey = images.mean(dim=1, keepdim=True)
        images = (images - grey) * (rand() * 2) + grey
    mean = images.mean(dim=(1, 2, 3), keepdim=True)  # contrast: scale distance from the mean by 0.5..1.5
    return (images - mean) * (rand() + 0.5) + mean


def _translation(images: torch.Tensor, generator, device) -> torch.Tensor:
    """Shift each image by up to 1/8 of its side, filling with -1 (black), by a gather (differentiable)."""
    batch, _, height, width = images.shape
    sx, sy = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    dx = torch.randint(-sx, sx + 1, (batch, 1, 1), generator=generator, device=device)
    dy = torch.randint(-sy, sy + 1, (batch, 1, 1), generator=generator, device=device)
    b, x, y = torch.meshgrid(torch.arange(batch, device=device), torch.arange(height, device=device),
                             torch.arange(width, device=device), indexing="ij")
    # Indices into the image padded by one -1 pixel: out-of-range positions read the padding.
    x = torch.clamp(x + dx + 1, 0, height + 1)
    y = torch.clamp(y + dy + 1, 0, width + 1)
    padded = F.pad(images, [1, 1, 1, 1], value=-1.0).permute(0, 2, 3, 1)  # (B, H+2, W+2, C)
    return padded[b, x, y].permute(0, 3, 1, 2)


def _cutout(images: torch.Tensor, generator, device) -> torch.Tensor:
    """Set a random square of half the side to 0 (mid grey) in each image."""
    batch, _, height, width = images.shape
    ch, cw = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    # Each square's centre anywhere in the image; the square may hang over the edge, as in DiffAugment.
    ox = torch.randint(0, height, (batch, 1, 1), generator=generator, device=device) - ch // 2
    oy = torch.randint(0, width, (batch, 1, 1), generator=generator, device=device) - cw // 2
    rows = torch.arange(height, device=device).view(1, height, 1)
    cols = torch.arange(width, device=device).view(1, 1, width)
    inside = (rows >= ox) & (rows < ox + ch) & (cols >= oy) & (cols < oy + cw)  # (B, H, W)
    return images * (~inside).unsqueeze(1).to(images.dtype)


_OPS = {"translation": _translation, "cutout": _cutout, "color": _color}


def diff_augment(images: torch.Tensor, ops: tuple[str, ...], probability: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply each op in `ops` to each image with `probability`; (B, C, H, W) in [-1, 1] -> same shape and range."""
    unknown = [op for op in ops if op not in _OPS]
    if unknown:
        raise ValueError(f"augment ops {unknown} are invalid: allowed {', '.join(AUGMENT_OPS)}")
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"augment probability={probability!r} is invalid: allowed 0 to 1")
    if probability == 0.0 or not ops:
        return images
    device = images.device
    for op in ops:
        chosen = _chosen(images.shape[0], probability, generator, device)
        images = torch.where(chosen, _OPS[op](images, generator, device), images)
    return images.clamp(-1.0, 1.0)


class AdaptiveProbability:
    """ADA's controller: p moves toward keeping r_t = E[sign(D(x_real))] at the target."""

    def __init__(self, target: float = ADA_TARGET, speed_images: int = ADA_SPEED_IMAGES,
                 probability: float = 0.0) -> None:
        if not 0.0 < target < 1.0:
            raise ValueError(f"augment target={target!r} is invalid: allowed between 0 and 1")
        self.target, self.speed_images, self.probability = target, speed_images, probability
        self.signal = 0.0  # the last r_t, for the metrics

    def update(self, real_logits: torch.Tensor) -> float:
        """Move p by one batch's worth given D's logits on reals (B,); returns the new p."""
        self.signal = float(torch.sign(real_logits.detach()).mean())
        step = real_logits.shape[0] / self.speed_images
        direction = 1.0 if self.signal > self.target else -1.0
        self.probability = min(1.0, max(0.0, self.probability + direction * step))
        return self.probability

    def state_dict(self) -> dict:
        """p and the last r_t (floats only, for checkpoints)."""
        return {"probability": self.probability, "signal": self.signal}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned."""
        self.probability, self.signal = float(state["probability"]), float(state["signal"])
