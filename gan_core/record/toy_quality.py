"""Live evaluation of a 2D toy run (#11): modes covered, high-quality share and KL/JS every N steps.

The same contract as quality.LiveEvaluation (due, evaluate, last_row, best.pt, quality.csv, close), with
toy_metrics in place of a classifier: an evaluation costs milliseconds, so it runs often and needs no
preparation. best.pt keeps the weights with the lowest JS divergence.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from gan_core.columns import TOY_QUALITY_COLUMNS
from gan_core.engine.trainer import Trainer
from gan_core.quality.toy_metrics import toy_quality
from gan_core.record.quality_record import QualityRecord
from gan_core.views.latent import generate


class ToyLiveEvaluation(QualityRecord):
    """Scores G's points against the data every `every` steps; writes quality.csv and best.pt (by JS)."""

    prepared = True  # nothing to train first
    preparing = False
    reference: dict[str, Any] | None = None
    unavailable: str | None = None

    def __init__(self, trainer: Trainer, run_root: Path, every: int, samples: int) -> None:
        super().__init__(trainer, run_root, TOY_QUALITY_COLUMNS, "js")
        self.every, self.samples = every, samples
        # The same z at every evaluation, from a fixed seed, so the scores move only with G.
        self.noise = torch.randn(samples, trainer.config.model.latent_dim,
                                 generator=torch.Generator().manual_seed(trainer.config.training.seed + 3))

    def due(self) -> bool:
        """Every `every` steps, unless the last evaluation's cost would exceed 10% of the training since."""
        return bool(self.every) and self.trainer.step_count % self.every == 0 and self.within_budget()

    def evaluate(self) -> dict[str, Any]:
        """Score now; returns the quality row (with `best` when JS improved and best.pt was written)."""
        started = time.perf_counter()
        dataset = self.trainer.dataset
        fake = generate(self.trainer.sampling_generator(), self.noise)  # (samples, 2) on the CPU
        scores = toy_quality(dataset.images.detach().cpu(), fake, dataset.modes, dataset.mode_std).row()
        return self.keep({"step": self.trainer.step_count, **scores}, started)
