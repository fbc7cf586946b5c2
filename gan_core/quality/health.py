"""Health rules over the metrics stream: each fires once (with a plain-language hint) until it recovers."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

D_WINNING_THRESHOLD = 0.05


@dataclass(frozen=True)
class Alert:
    """A health warning: which rule, at which step, what it saw and what to try."""

    rule: str
    step: int
    message: str
    hint: str


@dataclass
class HealthMonitor:
    """Watches metric rows (every step) and quality rows (every evaluation); returns new alerts."""

    d_winning_window: int = 200
    """Consecutive steps with mean D(G(z)) below 0.05 before 'discriminator winning' fires."""
    coverage_drop: int = 2
    """Covered classes lost, from the best seen, before 'mode collapse' fires."""
    diversity_fraction: float = 0.5
    """Sample diversity below this fraction of the real data's fires 'mode collapse'."""
    stagnation_patience: int = 5
    """Evaluations without a better FID before 'stagnation' fires."""
    diversity_warmup: int = 2
    """Evaluations before the diversity rule applies: the first samples are blobs by nature."""
    sample_diversity_floor: float = 0.3
    """Fixed-noise samples whose mean pairwise distance is under this share of real images' is a collapse."""
    sample_warmup_steps: int = 400
    """Steps before the sample-diversity rule applies: a fresh G's samples are all alike (0.14-0.46 of the
    real spread at steps 100-300 on the default preset, 0.66 at 400; seed-mlp's collapse stays at 0.1-0.2)."""
    sample_patience: int = 2
    """Consecutive low checks (one per saved grid) before the sample-diversity rule fires."""
    toy_window: int = 5
    """2D toys: evaluations whose median coverage the mode rules read."""
    modes_warmup_steps: int = 2000
    """2D toys: steps before 'under half the modes' counts (healthy ring-8 runs cover 0-6 modes at 1,000 steps
    and 5-7 at 2,000, docs/benchmarks.md)."""
    real_diversity: float | None = None
    _low_d_fake_steps: int = 0
    _best_covered: int = 0
    _best_fid: float = float("inf")
    _since_best: int = 0
    _evaluations: int = 0
    _active: set[str] = field(default_factory=set)
    _recent_covered: list[int] = field(default_factory=list)
    _low_samples: int = 0

    def observe_row(self, row: dict[str, float]) -> list[Alert]:
        """Feed one training step's metrics row."""
        self._low_d_fake_steps = self._low_d_fake_steps + 1 if row["d_fake"] < D_WINNING_THRESHOLD else 0
        return self._update("discriminator_winning", self._low_d_fake_steps >= self.d_winning_window,
                            int(row["step"]),
                            f"mean D(G(z)) has stayed below {D_WINNING_THRESHOLD} for {self.d_winning_window} steps",
                            "D rejects every fake, so G gets little signal: lower lr_d or raise lr_g, use label "
                            "smoothing, or switch to the non-saturating loss if minimax is on")

    def observe_samples(self, step: int, diversity_ratio: float) -> list[Alert]:
        """Feed the spread of a saved grid's fixed-noise samples over the real images' (cheap, every grid):
        catches a collapse long before the first evaluations, which the 10% time budget keeps sparse."""
        low = step >= self.sample_warmup_steps and diversity_ratio < self.sample_diversity_floor
        self._low_samples = self._low_samples + 1 if low else 0
        return self._update("low_diversity", self._low_samples >= self.sample_patience, step,
                            f"the fixed-noise samples are nearly alike: their spread is {diversity_ratio:.2f} of the "
                            f"real images' (under {self.sample_diversity_floor})",
                            "G is collapsing onto a few images: lower D's learning rate, use the non-saturating "
                            "loss, add label smoothing or augmentation, or try the default preset")

    def observe_quality(self, quality: dict[str, Any]) -> list[Alert]:
        """Feed one evaluation's scores: images (fid, classes_covered, diversity) or 2D toys (modes_covered,
        modes_total, js)."""
        step = int(quality["step"])
        self._evaluations += 1
        toy = "modes_covered" in quality
        if toy and not _finite(quality["modes_covered"]):
            covered, total = 0, 0  # a set without modes (two moons, spiral): only the divergence says anything
        elif toy:
            covered, total = int(quality["modes_covered"]), int(quality["modes_total"])
        else:
            covered, total = int(quality.get("classes_covered", 0)), 0
        if toy:
            # Toys are evaluated every ~100 steps and G hops between modes from one to the next: count the
            # median of the last few evaluations, so only a collapse that lasts raises the warning.
            self._recent_covered = (self._recent_covered + [covered])[-self.toy_window:]
            covered = int(statistics.median(self._recent_covered))
        self._best_covered = max(self._best_covered, covered)
        collapsed_classes = self._best_covered - covered >= self.coverage_drop
        # On a mixture of Gaussians collapse is plain to count: G covering under half the modes once a healthy
        # run would cover most (the ring's classic failure stays on one or two of eight).
        few_modes = total > 1 and step >= self.modes_warmup_steps and covered * 2 < total
        low_diversity = (not toy and self.real_diversity is not None and self._evaluations > self.diversity_warmup
                         and quality.get("diversity", float("inf")) < self.diversity_fraction * self.real_diversity)
        kind = "modes" if toy else "classes"
        if collapsed_classes:
            detail = f"covered {kind} fell from {self._best_covered} to {covered}"
        elif few_modes:
            detail = f"G covers only {covered} of the {total} modes (median of the last {self.toy_window} evaluations)"
        else:
            detail = (f"sample diversity {quality.get('diversity', 0):.2f} is under {self.diversity_fraction:.0%} "
                      f"of the real data's {self.real_diversity or 0:.2f}")
        alerts: list[Alert] = []
        alerts += self._update("mode_collapse", collapsed_classes or few_modes or low_diversity, step, detail,
                               "G is drawing fewer kinds of sample: lower the learning rates (D's first), add "
                               "label smoothing, or resume from an earlier checkpoint")
        score_name = "js" if toy else "fid"
        score = float(quality[score_name])
        if score < self._best_fid:
            self._best_fid, self._since_best = score, 0
        else:
            self._since_best += 1
        alerts += self._update("stagnation", self._since_best >= self.stagnation_patience * (4 if toy else 1), step,
                               f"{score_name.upper()} has not improved on {self._best_fid:.3f} for "
                               f"{self._since_best} evaluations",
                               "training has stalled: lower the learning rates, or stop and keep checkpoints/best.pt")
        return alerts

    def _update(self, rule: str, firing: bool, step: int, message: str, hint: str) -> list[Alert]:
        """Fire on the rising edge only; re-arm once the condition clears."""
        if not firing:
            self._active.discard(rule)
            return []
        if rule in self._active:
            return []
        self._active.add(rule)
        return [Alert(rule, step, message, hint)]


def _finite(value: Any) -> bool:
    """True for a finite number (a toy without modes logs NaN for its mode columns)."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
