"""2D toy distributions for the playground (#11): points (N, 2) and, where they have them, their modes.

The mixtures follow the papers that made them standard: a ring of 8 Gaussians of radius 2 and std 0.02
(Metz et al. 2017, "Unrolled GANs", the classic mode-collapse case) and a 5 x 5 grid of Gaussians 2 apart
with std 0.05 (Srivastava et al. 2017, "VEEGAN"). Two moons, a spiral and one Gaussian have no discrete
modes but show a generator bending its manifold. `drawn` is a user's own points (from the page's canvas),
vetted as untrusted input. Every set is seeded: the same (name, count, seed) gives the same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_core.config.schema import DRAWN_BOUND, MAX_DRAWN_POINTS, TOY_DATASET_NAMES

DEFAULT_COUNT = 8192
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class ToyDataset:
    """Points (N, 2) float32, the modes (M, 2) and their std where the set is a Gaussian mixture."""

    points: torch.Tensor
    name: str
    modes: torch.Tensor | None = None
    mode_std: float = 0.0

    def __len__(self) -> int:
        return int(self.points.shape[0])


def _mixture(centres: torch.Tensor, std: float, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` points, each from a uniformly chosen centre plus N(0, std^2 I)."""
    which = torch.randint(0, centres.shape[0], (count,), generator=generator)
    return centres[which] + std * torch.randn(count, 2, generator=generator)


def ring_modes(count: int = 8, radius: float = 2.0) -> torch.Tensor:
    """(count, 2) centres evenly spaced on a circle."""
    angles = torch.arange(count, dtype=torch.float32) * (2 * math.pi / count)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)


def grid_modes(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """(side^2, 2) centres on a square grid centred at the origin."""
    axis = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    return torch.cartesian_prod(axis, axis)


def _two_moons(count: int, generator: torch.Generator) -> torch.Tensor:
    """Two interleaved half circles (as scikit-learn's make_moons) with noise 0.05, centred and scaled by 1.5."""
    upper = count // 2
    t = torch.rand(count, generator=generator) * math.pi
    x = torch.where(torch.arange(count) < upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(torch.arange(count) < upper, torch.sin(t), 0.5 - torch.sin(t))
    points = torch.stack([x - 0.5, y - 0.25], dim=1) * 1.5
    return points + 0.05 * torch.randn(count, 2, generator=generator)


def _spiral(count: int, generator: torch.Generator) -> torch.Tensor:
    """One arm turning twice around the origin out to radius 3, with noise 0.05."""
    t = torch.sqrt(torch.rand(count, generator=generator)) * 4 * math.pi  # sqrt: even density along the arm
    radius = t / (4 * math.pi) * 3
    points = torch.stack([radius * torch.cos(t), radius * torch.sin(t)], dim=1)
    return points + 0.05 * torch.randn(count, 2, generator=generator)


def check_drawn_points(points) -> torch.Tensor:
    """A user's drawn points as (N, 2) float32, refused with the field named unless every rule holds."""
    try:
        tensor = torch.as_tensor(points, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError("data.points is invalid: allowed a list of [x, y] number pairs") from None
    if tensor.ndim != 2 or tensor.shape[1] != 2:
        raise ValueError(f"data.points has shape {tuple(tensor.shape)}: allowed a list of [x, y] pairs")
    if not 2 <= tensor.shape[0] <= MAX_DRAWN_POINTS:
        raise ValueError(f"data.points has {tensor.shape[0]} points: allowed 2 to {MAX_DRAWN_POINTS:,}")
    if not torch.isfinite(tensor).all() or tensor.abs().max() > DRAWN_BOUND:
        raise ValueError(f"data.points must be finite and within [-{DRAWN_BOUND:g}, {DRAWN_BOUND:g}] on both axes")
    return tensor


def make_toy(name: str, count: int = DEFAULT_COUNT, seed: int = 0, drawn=None) -> ToyDataset:
    """The toy set `name` with `count` points drawn with `seed` (drawn: the user's points, resampled)."""
    if name not in TOY_DATASET_NAMES:
        raise ValueError(f"data.name={name!r} is invalid: allowed one of {', '.join(TOY_DATASET_NAMES)}")
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValueError(f"data.limit={count!r} is invalid: allowed 1 to {MAX_COUNT:,} points")
    generator = torch.Generator().manual_seed(seed)
    if name == "ring8":
        modes = ring_modes()
        return ToyDataset(_mixture(modes, 0.02, count, generator), name, modes, 0.02)
    if name == "grid25":
        modes = grid_modes()
        return ToyDataset(_mixture(modes, 0.05, count, generator), name, modes, 0.05)
    if name == "gaussian":
        return ToyDataset(torch.randn(count, 2, generator=generator), name, torch.zeros(1, 2), 1.0)
    if name == "two-moons":
        return ToyDataset(_two_moons(count, generator), name)
    if name == "spiral":
        return ToyDataset(_spiral(count, generator), name)
    # drawn: each of the user's points becomes a small blob, so a few clicks make a distribution to learn.
    anchors = check_drawn_points(drawn if drawn is not None else [])
    return ToyDataset(_mixture(anchors, 0.05, count, generator), name)
