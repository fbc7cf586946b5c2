"""What a page reads from a TrainingSession: the immutable Snapshot, and a resumed run's earlier rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gan_core.columns import METRIC_NAMES
from gan_core.config import RunConfig
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths


@dataclass(frozen=True)
class Snapshot:
    """An immutable copy of what a page needs; rows are tuples in `columns` order."""

    status: str
    step: int
    epoch: int
    elapsed_s: float
    """Wall time since this start or resume (pauses included)."""
    images_per_s: float | None
    """Images per second of wall time over the last ~10 s; None while paused or warming up."""
    columns: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]
    cursor: tuple[int, int]
    reset: bool
    grid: np.ndarray | None
    grid_step: int
    events: tuple[dict[str, Any], ...]
    error: str | None
    run_dir: str | None
    config: RunConfig | None
    steps_pending: int
    diverged: bool = False
    last_checkpoint_step: int = -1
    steps_per_s: float | None = None
    """Steps per second of wall time over the last ~10 s; None while paused or warming up."""
    train_s: float = 0.0
    """Time spent inside training steps since this start or resume (less than elapsed_s when busy elsewhere)."""
    activity: str | None = None
    """What the training thread is busy with besides steps (a checkpoint, an evaluation), if anything."""
    quality: tuple[dict[str, Any], ...] = ()
    quality_reference: dict[str, Any] | None = None


def images_per_step(config: RunConfig) -> int:
    """Real images one step consumes: batch size times D steps per G step."""
    return config.training.batch_size * config.optimizer.d_steps_per_g_step


def quality_from_csv(paths: RunPaths, step: int) -> list[dict[str, Any]]:
    """A resumed run's earlier quality rows up to its step."""
    frame = read_metrics(paths.quality)
    if frame.empty or "step" not in frame:
        return []
    return [{k: float(v) for k, v in row.items()} for row in frame[frame["step"] <= step].to_dict("records")]


def rows_from_csv(paths: RunPaths) -> list[tuple[float, ...]]:
    """A resumed run's earlier rows, so its curves start at step 1."""
    frame = read_metrics(paths.metrics)
    if frame.empty:
        return []
    frame = frame.reindex(columns=list(METRIC_NAMES))
    return [tuple(float(v) for v in row) for row in frame.itertuples(index=False)]
