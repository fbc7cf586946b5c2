"""What both live evaluations (images: quality.LiveEvaluation; 2D toys: toy_evaluation.ToyLiveEvaluation)
share: quality.csv, checkpoints/best.pt by one score (lower is better), and the 10% time budget."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from gan_core.engine.trainer import Trainer
from gan_core.runs.checkpoint import save_checkpoint
from gan_core.runs.metrics import MetricsWriter, read_metrics
from gan_core.runs.paths import RunPaths

MAX_COST_FRACTION = 0.1  # evaluation may take at most this share of training time


class QualityRecord:
    """Keeps each evaluation's row: best.pt when `score` improves, the row in quality.csv, the cost."""

    def __init__(self, trainer: Trainer, run_root: Path, columns: tuple[str, ...], score: str) -> None:
        self.trainer, self.columns, self.score = trainer, columns, score
        paths = RunPaths(run_root)
        self.quality_path, self.best_path = paths.quality, paths.best
        # After a resume the best so far is in quality.csv: a fresh infinity would let a worse model
        # replace best.pt at the first evaluation.
        self.best_score = best_in(self.quality_path, score) if self.best_path.exists() else math.inf
        self.total_eval_s = 0.0
        self._last_cost_s = 0.0
        self._last_train_time = 0.0
        self._writer: MetricsWriter | None = None
        self.last_row: dict[str, Any] | None = None  # the latest evaluation, for a live page

    def within_budget(self) -> bool:
        """Whether the last evaluation's cost is within 10% of the training time since it."""
        return self._last_cost_s <= MAX_COST_FRACTION * (self.trainer.time_s - self._last_train_time)

    def keep(self, row: dict[str, Any], started: float) -> dict[str, Any]:
        """Finish a row scored since perf_counter() `started`: best.pt if its score improved, eval_s, best, the
        budget's bookkeeping, one line in quality.csv (flushed); returns the row."""
        improved = math.isfinite(row[self.score]) and row[self.score] < self.best_score
        if improved:
            self.best_score = row[self.score]
            save_checkpoint(self.trainer.state_dict(), self.best_path)
        row["eval_s"] = time.perf_counter() - started
        row["best"] = improved
        self._last_cost_s, self._last_train_time = row["eval_s"], self.trainer.time_s
        self.total_eval_s += row["eval_s"]
        if self._writer is None:
            self._writer = MetricsWriter(self.quality_path, self.columns)
        self._writer.append(row)
        self._writer.flush()
        self.last_row = row
        return row

    def close(self) -> None:
        """Close quality.csv; a later evaluation opens it again (after a rewind cut it back)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def best_in(quality_path: Path, column: str) -> float:
    """The lowest finite value of a column in a run's quality.csv (infinity when none): what best.pt holds."""
    try:
        frame = read_metrics(quality_path)
    except (OSError, ValueError):
        return math.inf
    if frame.empty or column not in frame:
        return math.inf
    return min((float(v) for v in frame[column] if math.isfinite(float(v))), default=math.inf)
