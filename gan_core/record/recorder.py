"""RunRecorder: the one owner of a run directory's life while it trains. It records each step's row
(metrics, grids, checkpoints, evaluations, health alerts), hands out the events it wrote, rewinds the
run to its last good state, and finishes it with a reason. The session and the CLI drive it as thin
loops; neither touches its files."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import torch

from gan_core.config.fields import live_values
from gan_core.engine.trainer import Trainer
from gan_core.files import atomic_writer, open_append, write_atomic
from gan_core.quality.health import HealthMonitor
from gan_core.record.live_quality import LiveEvaluation
from gan_core.record.tensorboard import TensorBoardLog
from gan_core.record.tensorboard import available as tensorboard_available
from gan_core.record.toy_quality import ToyLiveEvaluation
from gan_core.runs.checkpoint import load_checkpoint, restore, save_checkpoint
from gan_core.runs.lock import release_run_lock
from gan_core.runs.metrics import MetricsWriter, cut_table
from gan_core.runs.paths import RunPaths, cut_events, list_checkpoints
from gan_core.views.latent import png_bytes
from gan_core.views.point_plot import samples_image

# How a run ends, written as its last event: reached its target ("finish"), asked to stop ("stop"),
# a non-finite loss ("nonfinite": no checkpoint from the bad weights), an error ("failed").
FINISH_REASONS = ("finish", "stop", "nonfinite", "failed")


class EventLog:
    """Appends one JSON object per line to events.jsonl, flushed at once (events are rare)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._file = open_append(path)  # never through a link, into a FIFO or a file that lives elsewhere too

    def append(self, kind: str, step: int, **fields: Any) -> dict[str, Any]:
        """Record an event of a kind (start, pause, resume, update, nonfinite, checkpoint, ...) at a step."""
        event = {"time": round(time.time(), 3), "kind": kind, "step": int(step), **fields}
        self._file.write(json.dumps(event, default=str) + "\n")
        self._file.flush()
        return event

    def close(self) -> None:
        """Close the file; safe to call twice."""
        self._file.close()


class RunRecorder:
    """Owns one run directory while a Trainer trains into it (one thread drives it); holds its lock
    until finish() or close()."""

    def __init__(self, trainer: Trainer, paths: RunPaths, keep_checkpoints: int = 5,
                 background_evaluation: bool = False,
                 on_activity: Callable[[str | None], None] | None = None) -> None:
        self.trainer = trainer
        # Told what the thread is busy with besides steps (a checkpoint, an evaluation), then None.
        self.on_activity = on_activity or (lambda activity: None)
        self.paths = paths
        self.keep_checkpoints = keep_checkpoints
        self.metrics = MetricsWriter(paths.metrics)
        try:
            self.events = EventLog(paths.events)
        except BaseException:
            self.metrics.close()
            raise
        self.last_checkpoint_step = -1
        self.last_grid: tuple[int, Any] | None = None  # (step, uint8 grid) last written to samples/
        self.diverged = False  # a non-finite loss since the last good state: no checkpoint from these weights
        self.finished: str | None = None  # the reason, once finish() has ended the run
        self._new_events: list[dict[str, Any]] = []  # written since the last take_events()
        self._closed = False
        training = trainer.config.training
        self.quality: LiveEvaluation | ToyLiveEvaluation | None = None
        if training.eval_every and trainer.dataset.is_points:
            self.quality = ToyLiveEvaluation(trainer, paths.root, training.eval_every, training.eval_samples)
        elif training.eval_every:
            self.quality = LiveEvaluation(trainer, paths.root, training.eval_every, training.eval_samples,
                                          background=background_evaluation)
        self.health = HealthMonitor()
        self._real_spread_value: float | None = None
        # TensorBoard's copy of the run: a new event file that purges what earlier ones hold after this step.
        self.tensorboard: TensorBoardLog | None = None
        if training.tensorboard:
            self._open_tensorboard(trainer.step_count)

    def _open_tensorboard(self, step: int) -> None:
        """A new event file from step + 1 on (the config at step 0 for a run that starts there)."""
        if not tensorboard_available():
            self.log("tensorboard_unavailable", message="the tensorboard package is not installed: no event files")
            return
        self.tensorboard = TensorBoardLog(self.paths)
        if step == 0:
            self.tensorboard.config(self.trainer.config.to_dict(), time.time())
        self.tensorboard.purge_from(step + 1)  # the steps after this one will be trained (again)

    # ---- events -------------------------------------------------------------------------

    def log(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Write an event at the trainer's current step; None-valued fields are left out."""
        fields = {key: value for key, value in fields.items() if value is not None}
        event = self.events.append(kind, self.trainer.step_count, **fields)
        self._new_events.append(event)
        if self.tensorboard is not None:
            self.tensorboard.event(event)
        return event

    def take_events(self) -> list[dict[str, Any]]:
        """The events written since the last call, oldest first (each handed out once)."""
        events, self._new_events = self._new_events, []
        return events

    # ---- recording ----------------------------------------------------------------------

    def record(self, row: dict[str, float]) -> bool:
        """Log a step's row; write a grid, a checkpoint, an evaluation when due. A non-finite loss
        logs a `nonfinite` event, marks the run diverged and returns False."""
        self.metrics.append(row)
        if self.tensorboard is not None:
            self.tensorboard.row(row)
        if not all(math.isfinite(row[k]) for k in ("d_loss", "g_loss")):
            self.diverged = True
            self.log("nonfinite", message=f"non-finite loss at step {self.trainer.step_count}")
            return False
        for alert in self.health.observe_row(row):
            self.log("health", rule=alert.rule, message=alert.message, hint=alert.hint)
        step, training = int(row["step"]), self.trainer.config.training
        if step % training.sample_every == 0:
            self.save_sample_grid()
        if step % training.checkpoint_every == 0:
            self.on_activity("writing a checkpoint")
            self.save_checkpoint()
            self.on_activity(None)
        if self.quality is not None and self.quality.due():
            first = not self.quality.prepared
            self.on_activity("preparing the quality classifier" if first else "evaluating sample quality")
            self.evaluate()
            self.on_activity(None)
        return True

    def evaluate(self) -> dict[str, Any] | None:
        """One live evaluation: quality.csv row, best.pt when FID improves, health rules; events for each."""
        quality = self.quality.evaluate()
        for note in self.quality.take_notes() if isinstance(self.quality, LiveEvaluation) else ():
            self.log("quality_cache", message=note)  # a bad evaluator cache was set aside and rebuilt
        if quality is None:
            self.log("quality_unavailable", message=self.quality.unavailable)
            return None
        if self.tensorboard is not None:
            self.tensorboard.quality(self.trainer.step_count, quality, time.time())
        if self.health.real_diversity is None and self.quality.reference is not None:
            self.health.real_diversity = self.quality.reference["diversity"]
        if quality["best"]:  # images keep the best FID; 2D toys the lowest JS divergence
            score = {"fid": round(quality["fid"], 4)} if "fid" in quality else {"js": round(quality["js"], 4)}
            self.log("best", **score, path=self.paths.best.name)
        for alert in self.health.observe_quality(quality):
            self.log("health", rule=alert.rule, message=alert.message, hint=alert.hint)
        return quality

    def save_sample_grid(self) -> Path:
        """samples/step_<n>.png from the fixed noise batch (points: a scatter); the grid is kept in last_grid.
        For images the samples' spread also feeds the health monitor (a collapse shows here first)."""
        samples = self.trainer.sample_fixed()
        grid = samples_image(samples, self.trainer.images, self.trainer.grid_columns)
        self.last_grid = (self.trainer.step_count, grid)
        if samples.ndim == 4 and samples.shape[0] >= 2 and not self.finished:
            ratio = spread(samples) / self._real_spread()
            for alert in self.health.observe_samples(self.trainer.step_count, ratio):
                self.log("health", rule=alert.rule, message=alert.message, hint=alert.hint)
        if self.tensorboard is not None:
            self.tensorboard.grid(self.trainer.step_count, grid, time.time())
        path = self.paths.sample_grid(self.trainer.step_count)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Replaces a link named like the grid, never writes through it; no fsync: a lost grid costs nothing.
        return write_atomic(path, png_bytes(grid), durable=False)

    def _real_spread(self) -> float:
        """The mean pairwise distance of as many real images as a grid holds (a seeded choice), once."""
        if self._real_spread_value is None:
            images = self.trainer.images
            count = min(len(images), max(2, self.trainer.config.training.grid_size))
            chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:count]
            self._real_spread_value = max(spread(images[chosen.to(images.device)].float().cpu()), 1e-8)
        return self._real_spread_value

    def save_checkpoint(self, manual: bool = False) -> Path:
        """Write step_<n>.pt (manual: manual_<n>.pt, never pruned) atomically, point latest.pt at it,
        prune automatic step files beyond keep_checkpoints (by parsed step), log an event."""
        self.metrics.flush()  # rows up to the checkpoint are on disk before it is (TensorBoard's too)
        if self.tensorboard is not None:
            self.tensorboard.flush()
        step = self.trainer.step_count
        target = self.paths.manual_checkpoint(step) if manual else self.paths.step_checkpoint(step)
        path = save_checkpoint(self.trainer.state_dict(), target)
        _replace_with_link(path, self.paths.latest)
        self.last_checkpoint_step = step
        if self.keep_checkpoints and not manual:
            for old in list_checkpoints(self.paths)[: -self.keep_checkpoints]:
                old.unlink(missing_ok=True)
        self.log("checkpoint", path=str(path.name), manual=True if manual else None)
        return path

    # ---- rewinding ----------------------------------------------------------------------

    def rewind(self, step: int) -> None:
        """Cut metrics.csv and quality.csv back to `step` (those steps will be trained and evaluated again) and
        append from there. events.jsonl keeps its events: the nonfinite and restore events are the history."""
        self.metrics.close()
        if self.quality is not None:
            self.quality.close()  # reopened at the next evaluation, on the cut file
        cut_back(self.paths, step, events=False)
        self.metrics = MetricsWriter(self.paths.metrics)
        if self.tensorboard is not None:  # a new event file that purges the steps to be trained again
            self.tensorboard.close()
            self._open_tensorboard(step)

    def restore_last_good(self, weights_lock: contextlib.AbstractContextManager[Any] | None = None) -> int:
        """After a non-finite loss: the trainer back to latest.pt (its step-0 state when there is none),
        keeping the live hyperparameters set meanwhile; metrics cut back to that step; a `restore` event.

        weights_lock is held while the weights change (the session's model lock). Returns the step.
        """
        trainer = self.trainer
        live = live_values(trainer.config)
        state = load_checkpoint(self.paths.latest) if self.paths.latest.exists() else None  # the disk, unlocked
        with weights_lock if weights_lock is not None else contextlib.nullcontext():
            if state is not None:
                restore(trainer, state)
            else:
                trainer.load_state_dict(trainer.initial_state_dict())
            trainer.update_hyperparameters(live)
        self.rewind(trainer.step_count)
        self.diverged = False
        self.log("restore", message=f"restored the last good state at step {trainer.step_count}")
        return trainer.step_count

    # ---- ending -------------------------------------------------------------------------

    def finish(self, reason: str, message: str | None = None) -> None:
        """End the run with a reason (FINISH_REASONS) as its last event, close its files, release its lock.

        finish and stop first write a last grid and checkpoint, unless the weights are non-finite; an
        OSError there (a full disk) propagates with the run still open, for finish("failed", ...).
        nonfinite adds its event unless record() wrote it (a loss another rank saw). failed never
        raises OSError: a full disk may refuse even its event. Calls after the first that ends are ignored.
        """
        if reason not in FINISH_REASONS:
            raise ValueError(f"reason={reason!r} is invalid: allowed {', '.join(FINISH_REASONS)}")
        if self.finished is not None:
            return
        if reason == "failed":
            self.finished = reason
            with contextlib.suppress(OSError, ValueError):  # ValueError: the event file is already closed
                self.log("failed", message=message)
            with contextlib.suppress(OSError):
                self.close()
            return
        if reason == "nonfinite":
            if not self.diverged:
                self.diverged = True
                self.log("nonfinite", message=message or f"non-finite loss at step {self.trainer.step_count}")
        elif self.diverged:  # never overwrite the last good checkpoint with non-finite weights
            self.log(reason, message=message or "stopped without a checkpoint: the weights were non-finite")
        else:
            if self.last_grid is None or self.last_grid[0] != self.trainer.step_count:  # not saved at this step yet
                self.save_sample_grid()
            self.save_checkpoint()
            self.log(reason, message=message)
        self.finished = reason
        self.close()

    def close(self) -> None:
        """Flush and close the metrics, quality and event files and release the run directory's lock
        (no event), each even when one before it fails; does nothing the second time."""
        if self._closed:
            return
        self._closed = True
        with contextlib.ExitStack() as stack:  # callbacks run last first: metrics, quality, events, lock
            stack.callback(release_run_lock, self.paths.root)
            stack.callback(self.events.close)
            if self.tensorboard is not None:
                stack.callback(self.tensorboard.close)
            if self.quality is not None:
                stack.callback(self.quality.close)
            stack.callback(self.metrics.close)


def spread(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance between images (N, ...) flattened: near 0 when they are all alike."""
    return float(torch.pdist(images.detach().float().cpu().flatten(1)).mean())


def cut_back(paths: RunPaths, step: int, events: bool = True) -> None:
    """Cut the run's per-step files back to `step`: metrics.csv, quality.csv and (events) events.jsonl lose
    what came after it. Every file is read and vetted (no link, no FIFO) before any is rewritten."""
    parts = [(paths.metrics, cut_table(paths.metrics, step)), (paths.quality, cut_table(paths.quality, step))]
    if events:
        parts.append((paths.events, cut_events(paths.events, step)))
    for path, text in parts:
        if text is not None:
            write_atomic(path, text)


def _replace_with_link(source: Path, target: Path) -> None:
    """Atomically make target the same file as source (a hard link; a copy where links fail)."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)  # creates the name or fails: never follows a link
    except OSError:
        with open(source, "rb") as original, atomic_writer(target) as copy:
            shutil.copyfileobj(original, copy)
        return
    os.replace(temp, target)
