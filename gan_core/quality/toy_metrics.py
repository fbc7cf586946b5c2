"""Quality for 2D toys (#11): modes covered, share of high-quality samples, KL and JS on a grid.

Mode metrics follow Srivastava et al. 2017 ("VEEGAN") and Metz et al. 2017: a sample is high quality when
it lies within 3 standard deviations of some mode; a mode is covered when at least MODE_MIN_SHARE of the
samples are high quality and nearest to it. The divergences compare the two 2D histograms on one grid over
both point sets (64 x 64 cells), each cell given a small floor so an empty cell does not make KL infinite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MODE_MIN_SHARE = 0.01  # 1% of the samples: a quarter of a fair share on the 25-mode grid
HIGH_QUALITY_STDS = 3.0
GRID_CELLS = 64
DENSITY_FLOOR = 1e-6  # per cell, before renormalising


@dataclass(frozen=True)
class ToyQuality:
    """One evaluation: modes covered (of how many), high-quality share, KL(real || fake), JS."""

    modes_covered: int | None
    modes_total: int | None
    high_quality_share: float | None
    kl: float
    js: float

    def row(self) -> dict[str, float]:
        """The evaluation as a quality.csv row (NaN where the set has no modes)."""
        nan = float("nan")
        return {"modes_covered": nan if self.modes_covered is None else float(self.modes_covered),
                "modes_total": nan if self.modes_total is None else float(self.modes_total),
                "high_quality_share": nan if self.high_quality_share is None else self.high_quality_share,
                "kl": self.kl, "js": self.js}


def mode_coverage(samples: torch.Tensor, modes: torch.Tensor, std: float,
                  min_share: float = MODE_MIN_SHARE) -> tuple[int, float]:
    """(modes covered, share of samples within 3 std of their nearest mode) for samples (N, 2), modes (M, 2)."""
    distances = torch.cdist(samples.float(), modes.float())  # (N, M)
    nearest, which = distances.min(dim=1)
    good = nearest <= HIGH_QUALITY_STDS * std
    counts = torch.bincount(which[good], minlength=modes.shape[0])
    covered = int((counts >= min_share * samples.shape[0]).sum())
    return covered, float(good.float().mean())


def _histogram(points: torch.Tensor, low: torch.Tensor, high: torch.Tensor, cells: int) -> torch.Tensor:
    """(cells * cells,) probabilities of points falling in each cell of the box [low, high]."""
    scaled = ((points - low) / (high - low) * cells).long().clamp(0, cells - 1)
    counts = torch.bincount(scaled[:, 0] * cells + scaled[:, 1], minlength=cells * cells).double()
    density = counts / counts.sum() + DENSITY_FLOOR
    return density / density.sum()


def divergences(real: torch.Tensor, fake: torch.Tensor, cells: int = GRID_CELLS) -> tuple[float, float]:
    """(KL(real || fake), JS(real, fake)) in nats, from histograms on one grid over both sets."""
    both = torch.cat([real, fake]).double()
    low, high = both.min(dim=0).values, both.max(dim=0).values
    high = torch.maximum(high, low + 1e-6)  # a set collapsed to a point still gets a box
    p, q = _histogram(real.double(), low, high, cells), _histogram(fake.double(), low, high, cells)
    m = (p + q) / 2
    kl = float((p * (p / q).log()).sum())
    js = float(0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum())
    return kl, min(js, math.log(2))


def toy_quality(real: torch.Tensor, fake: torch.Tensor, modes: torch.Tensor | None, mode_std: float) -> ToyQuality:
    """Every toy metric for generated points `fake` (N, 2) against the data's points `real` (M, 2)."""
    kl, js = divergences(real, fake)
    if modes is None or len(modes) < 2:  # one Gaussian or a shape: coverage says nothing
        return ToyQuality(None, None, None, kl, js)
    covered, share = mode_coverage(fake, modes, mode_std)
    return ToyQuality(covered, int(modes.shape[0]), share, kl, js)
