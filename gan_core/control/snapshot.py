"""What a page reads from a TrainingSession: the immutable Snapshot, and a resumed run's earlier rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_core.columns import METRIC_NAMES
from gan_core.config.schema import RunConfig
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths

if TYPE_CHECKING:
    from gan_core.control.mirror import RunMirror
    from gan_core.engine.trainer import Trainer
    from gan_core.record.recorder import RunRecorder


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
    run_dir: str | None
    config: RunConfig | None
    error: str | None = None
    steps_pending: int = 0
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


def mirror_snapshot(mirror: "RunMirror", trainer: "Trainer | None", recorder: "RunRecorder | None",
                    since: tuple[int, int] | int | None, status: str, **extra: Any) -> Snapshot:
    """A Snapshot of one run from its mirror (caller holds the owning controller's lock); extra: the fields
    only a controller knows (error, steps_pending, diverged, activity)."""
    rows, cursor, reset = mirror.rows_since(since)
    steps_per_s = mirror.steps_per_s(status == "running")
    per_step = images_per_step(trainer.config) if trainer else 0
    quality = recorder.quality if recorder else None
    return Snapshot(
        status=status,
        step=trainer.step_count if trainer else 0,
        epoch=trainer.epoch if trainer else 0,
        elapsed_s=(time.monotonic() - mirror.launched_at) if trainer else 0.0,
        images_per_s=None if steps_per_s is None else steps_per_s * per_step,
        columns=METRIC_NAMES,
        rows=rows,
        cursor=cursor,
        reset=reset,
        grid=mirror.grid,
        grid_step=mirror.grid_step,
        events=tuple(mirror.events),
        run_dir=str(recorder.paths.root) if recorder else None,
        config=trainer.config if trainer else None,
        last_checkpoint_step=recorder.last_checkpoint_step if recorder else -1,
        steps_per_s=steps_per_s,
        train_s=(trainer.time_s - mirror.train_s_at_launch) if trainer else 0.0,
        quality=tuple(mirror.quality),
        quality_reference=quality.reference if quality is not None else None,
        **extra,
    )


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
