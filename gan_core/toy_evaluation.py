"""Live evaluation of a 2D toy run (#11): modes covered, high-quality share and KL/JS every N steps.

The same contract as quality.LiveEvaluation (due, evaluate, last_row, best.pt, quality.csv, close), with
toy_metrics in place of a classifier: an evaluation costs milliseconds, so it runs often and needs no
preparation. best.pt keeps the weights with the lowest JS divergence.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from gan_core.checkpoint import save_checkpoint
from gan_core.columns import TOY_QUALITY_COLUMNS
from gan_core.latent import generate
from gan_core.metrics import MetricsWriter, read_metrics
from gan_core.run_files import RunPaths
from gan_core.toy_metrics import toy_quality
from gan_core.trainer import Trainer

MAX_COST_FRACTION = 0.1  # as image evaluation: at most this share of training time


class ToyLiveEvaluation:
    """Scores G's points against the data every `every` steps; writes quality.csv and best.pt."""

    prepared = True  # nothing to train first
    preparing = False
    reference: dict[str, Any] | None = None
    unavailable: str | None = None

    def __init__(self, trainer: Trainer, run_root: Path, every: int, samples: int) -> None:
        self.trainer, self.every, self.samples = trainer, every, samples
        paths = RunPaths(run_root)
        self.quality_path, self.best_path = paths.quality, paths.best
        self.best_js = _best_js(self.quality_path) if self.best_path.exists() else math.inf
        # The same z at every evaluation, from a fixed seed, so the scores move only with G.
        self.noise = torch.randn(samples, trainer.config.model.latent_dim,
                                 generator=torch.Generator().manual_seed(trainer.config.training.seed + 3))
        self.total_eval_s = 0.0
        self._last_cost_s = 0.0
        self._last_train_time = 0.0
        self._writer: MetricsWriter | None = None
        self.last_row: dict[str, Any] | None = None

    def due(self) -> bool:
        """Every `every` steps, unless the last evaluation's cost would exceed 10% of the training since."""
        if not self.every or self.trainer.step_count % self.every:
            return False
        return self._last_cost_s <= MAX_COST_FRACTION * (self.trainer.time_s - self._last_train_time)

    def evaluate(self) -> dict[str, Any]:
        """Score now; returns the quality row (with `best` when JS improved and best.pt was written)."""
        started = time.perf_counter()
        dataset = self.trainer.dataset
        fake = generate(self.trainer.sampling_generator(), self.noise)  # (samples, 2) on the CPU
        real = dataset.images.detach().cpu()
        scores = toy_quality(real, fake, dataset.modes, dataset.mode_std).row()
        row: dict[str, Any] = {"step": self.trainer.step_count, **scores}
        improved = math.isfinite(row["js"]) and row["js"] < self.best_js
        if improved:
            self.best_js = row["js"]
            save_checkpoint(self.trainer.state_dict(), self.best_path)
        row["eval_s"] = time.perf_counter() - started
        row["best"] = improved
        self._last_cost_s, self._last_train_time = row["eval_s"], self.trainer.time_s
        self.total_eval_s += row["eval_s"]
        if self._writer is None:
            self._writer = MetricsWriter(self.quality_path, TOY_QUALITY_COLUMNS)
        self._writer.append(row)
        self._writer.flush()
        self.last_row = row
        return row

    def close(self) -> None:
        """Close quality.csv."""
        if self._writer is not None:
            self._writer.close()


def _best_js(quality_path: Path) -> float:
    """The lowest finite JS in a resumed run's quality.csv (infinity when none): the score best.pt holds."""
    try:
        frame = read_metrics(quality_path)
    except (OSError, ValueError):
        return math.inf
    if frame.empty or "js" not in frame:
        return math.inf
    return min((float(v) for v in frame["js"] if math.isfinite(float(v))), default=math.inf)
