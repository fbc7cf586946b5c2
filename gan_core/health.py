"""Health rules over the metrics stream: each fires once (with a plain-language hint) until it recovers."""

from __future__ import annotations

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
    real_diversity: float | None = None
    _low_d_fake_steps: int = 0
    _best_covered: int = 0
    _best_fid: float = float("inf")
    _since_best: int = 0
    _evaluations: int = 0
    _active: set[str] = field(default_factory=set)

    def observe_row(self, row: dict[str, float]) -> list[Alert]:
        """Feed one training step's metrics row."""
        self._low_d_fake_steps = self._low_d_fake_steps + 1 if row["d_fake"] < D_WINNING_THRESHOLD else 0
        return self._update("discriminator_winning", self._low_d_fake_steps >= self.d_winning_window,
                            int(row["step"]),
                            f"mean D(G(z)) has stayed below {D_WINNING_THRESHOLD} for {self.d_winning_window} steps",
                            "D rejects every fake, so G gets little signal: lower lr_d or raise lr_g, use label "
                            "smoothing, or switch to the non-saturating loss if minimax is on")

    def observe_quality(self, quality: dict[str, Any]) -> list[Alert]:
        """Feed one evaluation's scores (fid, classes_covered, diversity)."""
        step = int(quality["step"])
        self._evaluations += 1
        alerts: list[Alert] = []
        covered = int(quality.get("classes_covered", 0))
        self._best_covered = max(self._best_covered, covered)
        collapsed_classes = self._best_covered - covered >= self.coverage_drop
        low_diversity = (self.real_diversity is not None and self._evaluations > self.diversity_warmup
                         and quality.get("diversity", float("inf")) < self.diversity_fraction * self.real_diversity)
        detail = (f"covered classes fell from {self._best_covered} to {covered}" if collapsed_classes else
                  f"sample diversity {quality.get('diversity', 0):.2f} is under {self.diversity_fraction:.0%} of "
                  f"the real data's {self.real_diversity or 0:.2f}")
        alerts += self._update("mode_collapse", collapsed_classes or low_diversity, step, detail,
                               "G is drawing fewer kinds of image: lower the learning rates, add label smoothing, "
                               "or resume from an earlier checkpoint")
        fid = float(quality["fid"])
        if fid < self._best_fid:
            self._best_fid, self._since_best = fid, 0
        else:
            self._since_best += 1
        alerts += self._update("stagnation", self._since_best >= self.stagnation_patience, step,
                               f"FID has not improved on {self._best_fid:.2f} for {self._since_best} evaluations",
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
