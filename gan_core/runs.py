"""The run directory: create, record into, list, and open runs for resuming."""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from gan_core.checkpoint import load_checkpoint, save_checkpoint
from gan_core.config import RunConfig
from gan_core.distributed import SINGLE_PROCESS, DistributedInfo
from gan_core.health import HealthMonitor
from gan_core.latent import image_grid, save_png
from gan_core.metrics import MetricsWriter, truncate_metrics
from gan_core.quality import LiveEvaluation
from gan_core.run_files import (RunPaths, checkpoint_files, clean_temp_files, list_checkpoints, read_events,
                                sample_grids)
from gan_core.run_listing import (DEFAULT_RUNS_ROOT, LIVE_WINDOW_S, RunSummary, config_differences,
                                  last_logged_step, list_runs, summarize_run)
from gan_core.run_lock import LOCK_NAME, RunLockedError, acquire_run_lock, release_run_lock, run_owner
from gan_core.safe_io import read_json
from gan_core.trainer import Trainer

__all__ = ["DEFAULT_RUNS_ROOT", "LIVE_WINDOW_S", "EventLog", "RunLockedError", "RunPaths", "RunRecorder",
           "RunSummary", "checkpoint_files", "clean_temp_files", "config_differences", "create_run_dir",
           "last_logged_step", "list_checkpoints", "list_runs", "open_run_for_resume", "read_events",
           "release_run_lock", "run_owner", "sample_grids", "summarize_run"]


def create_run_dir(config: RunConfig, runs_root: str | os.PathLike = DEFAULT_RUNS_ROOT,
                   run_dir: str | os.PathLike | None = None, lock: bool = True) -> RunPaths:
    """Make runs_root/<yyyymmdd-hhmmss>-<name>/ (or run_dir) with its subfolders and config.json.

    lock: this process owns the new directory (owner.lock) until release_run_lock or RunRecorder.close.
    """
    if run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        Path(runs_root).mkdir(parents=True, exist_ok=True)
        suffix = 1
        while True:  # mkdir without exist_ok: of two processes choosing the same name, one moves on
            root = Path(runs_root) / (f"{stamp}-{config.name}" + (f"-{suffix}" if suffix > 1 else ""))
            try:
                root.mkdir()
                break
            except FileExistsError:
                suffix += 1
    else:
        root = Path(run_dir)
        if root.exists() and not root.is_dir():
            raise ValueError(f"--run-dir {str(root)!r} exists and is not a folder: choose a new folder name")
        if root.is_dir() and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise ValueError(f"run directory {str(root)!r} already exists and is not empty: "
                             "choose a new one, or resume it")
        root.mkdir(parents=True, exist_ok=True)
    if lock:
        acquire_run_lock(root)
    try:
        if run_dir is not None and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise ValueError(f"run directory {str(root)!r} was just filled by another process")
        paths = RunPaths(root)
        paths.checkpoints.mkdir(parents=True, exist_ok=True)
        paths.samples.mkdir(parents=True, exist_ok=True)
        paths.config.write_text(config.to_json() + "\n", encoding="utf-8")
    except BaseException:
        release_run_lock(root)
        raise
    return paths


class EventLog:
    """Appends one JSON object per line to events.jsonl, flushed at once (events are rare)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._file = open(path, "a", encoding="utf-8")

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
    """Writes a Trainer's progress into its run directory: metrics, events, sample grids, checkpoints."""

    def __init__(self, trainer: Trainer, paths: RunPaths, keep_checkpoints: int = 5,
                 background_evaluation: bool = False,
                 on_activity: Callable[[str | None], None] | None = None) -> None:
        self.trainer = trainer
        # Told what the thread is busy with besides steps (a checkpoint, an evaluation), then None.
        self.on_activity = on_activity or (lambda activity: None)
        self.paths = paths
        self.keep_checkpoints = keep_checkpoints
        self.metrics = MetricsWriter(paths.metrics)
        self.events = EventLog(paths.events)
        self.written: list[dict[str, Any]] = []  # events written so far, for a session to drain
        self.last_checkpoint_step = -1
        self.last_grid: tuple[int, Any] | None = None  # (step, uint8 grid) last written to samples/
        training = trainer.config.training
        self.quality = (LiveEvaluation(trainer, paths.root, training.eval_every, training.eval_samples,
                                       background=background_evaluation)
                        if training.eval_every else None)
        self.health = HealthMonitor()

    def log(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Write an event at the trainer's current step; None-valued fields are left out."""
        fields = {key: value for key, value in fields.items() if value is not None}
        event = self.events.append(kind, self.trainer.step_count, **fields)
        self.written.append(event)
        return event

    def record(self, row: dict[str, float]) -> bool:
        """Log a step's row; write a grid and a checkpoint when due. False if the row is not finite."""
        self.metrics.append(row)
        if not all(math.isfinite(row[k]) for k in ("d_loss", "g_loss")):
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
            first = self.quality.evaluator is None
            self.on_activity("preparing the quality classifier" if first else "evaluating sample quality")
            self.evaluate()
            self.on_activity(None)
        return True

    def evaluate(self) -> dict[str, Any] | None:
        """One live evaluation: quality.csv row, best.pt when FID improves, health rules; events for each."""
        quality = self.quality.evaluate()
        if quality is None:
            self.log("quality_unavailable", message=self.quality.unavailable)
            return None
        if self.health.real_diversity is None and self.quality.reference is not None:
            self.health.real_diversity = self.quality.reference["diversity"]
        if quality["best"]:
            self.log("best", fid=round(quality["fid"], 4), path="best.pt")
        for alert in self.health.observe_quality(quality):
            self.log("health", rule=alert.rule, message=alert.message, hint=alert.hint)
        return quality

    def save_sample_grid(self) -> Path:
        """samples/step_<n>.png from the fixed noise batch; the grid is kept in last_grid."""
        grid = image_grid(self.trainer.sample_fixed())
        self.last_grid = (self.trainer.step_count, grid)
        return save_png(grid, self.paths.sample_grid(self.trainer.step_count))

    def save_checkpoint(self, manual: bool = False) -> Path:
        """Write step_<n>.pt (manual: manual_<n>.pt, never pruned) atomically, point latest.pt at it,
        prune automatic step files beyond keep_checkpoints (by parsed step), log an event."""
        self.metrics.flush()  # rows up to the checkpoint are on disk before it is
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

    def close(self) -> None:
        """Flush and close the metrics, quality and event files; release the run directory's lock."""
        try:
            self.metrics.close()
            if self.quality is not None:
                self.quality.close()
            self.events.close()
        finally:
            release_run_lock(self.paths.root)


def _replace_with_link(source: Path, target: Path) -> None:
    """Atomically make target the same file as source (a hard link; a copy where links fail)."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)
    except OSError:
        import shutil

        shutil.copyfile(source, temp)
    os.replace(temp, target)


def open_run_for_resume(run_dir: str | os.PathLike, distributed: DistributedInfo = SINGLE_PROCESS,
                        allow_download: bool = False) -> tuple[Trainer, RunPaths]:
    """A Trainer restored from run_dir's latest.pt, with metrics.csv cut back to that step (by rank 0).

    Rank 0 takes the run's lock first (RunLockedError while another process owns it) and removes
    temp files left by a kill. A run killed before its first checkpoint restarts from config.json at
    step 0. The file's data.download is ignored unless allow_download (the user asked for it).
    """
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise ValueError(f"run directory {str(paths.root)!r} does not exist")
    if distributed.is_main:
        acquire_run_lock(paths.root)  # before anything is cut or removed
    try:
        if distributed.is_main:
            clean_temp_files(paths)
        if paths.latest.exists():
            state = load_checkpoint(paths.latest)
            trainer = Trainer(_no_download(RunConfig.from_dict(state["config"]), allow_download),
                              distributed=distributed)
            trainer.load_state_dict(state)
        else:
            trainer = Trainer(_no_download(_config_from_run(paths), allow_download), distributed=distributed)
        # Rows logged after the checkpoint will be trained again; drop them so steps stay contiguous.
        if distributed.is_main:
            truncate_metrics(paths.metrics, trainer.step_count)
    except BaseException:
        release_run_lock(paths.root)
        raise
    return trainer, paths


def _config_from_run(paths: RunPaths) -> RunConfig:
    """A checkpoint-less run's config.json, to restart it from step 0; ValueError naming the problem."""
    if not paths.config.exists():
        raise ValueError(f"run directory {str(paths.root)!r} has neither checkpoints/latest.pt nor "
                         "config.json to resume from")
    try:
        return RunConfig.from_dict(read_json(paths.config))
    except ValueError as error:
        raise ValueError(f"run directory {str(paths.root)!r} has no checkpoint and its config.json "
                         f"cannot be used: {error}") from None


def _no_download(config: RunConfig, allow_download: bool) -> RunConfig:
    """A config read from a file never downloads by itself: only the user's own flag turns it on."""
    if config.data.download and not allow_download:
        return config.with_changes({"data.download": False})
    return config
