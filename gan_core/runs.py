"""The run directory: create, record into, list, and open runs for resuming."""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from gan_core.checkpoint import load_checkpoint, save_checkpoint
from gan_core.config import RunConfig
from gan_core.distributed import SINGLE_PROCESS, DistributedInfo
from gan_core.latent import image_grid, save_png
from gan_core.metrics import MetricsWriter, truncate_metrics
from gan_core.health import HealthMonitor
from gan_core.quality import LiveEvaluation
from gan_core.trainer import Trainer

DEFAULT_RUNS_ROOT = "runs"
_END_KINDS = ("finish", "stop", "failed", "start", "resume")
_STEP_FILE = re.compile(r"step_(\d+)\.pt$")


@dataclass(frozen=True)
class RunPaths:
    """Where each part of a run directory lives."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / "latest.pt"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def step_checkpoint(self, step: int) -> Path:
        """checkpoints/step_<step>.pt"""
        return self.checkpoints / f"step_{step:07d}.pt"

    def sample_grid(self, step: int) -> Path:
        """samples/step_<step>.png"""
        return self.samples / f"step_{step:07d}.png"


def create_run_dir(config: RunConfig, runs_root: str | os.PathLike = DEFAULT_RUNS_ROOT,
                   run_dir: str | os.PathLike | None = None) -> RunPaths:
    """Make runs_root/<yyyymmdd-hhmmss>-<name>/ (or run_dir) with its subfolders and config.json."""
    if run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        root = Path(runs_root) / f"{stamp}-{config.name}"
        suffix = 1
        while root.exists():
            suffix += 1
            root = Path(runs_root) / f"{stamp}-{config.name}-{suffix}"
    else:
        root = Path(run_dir)
        if root.exists() and any(root.iterdir()):
            raise ValueError(f"run directory {str(root)!r} already exists and is not empty: "
                             "choose a new one, or resume it")
    paths = RunPaths(root)
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    paths.samples.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(config.to_json() + "\n", encoding="utf-8")
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


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """events.jsonl as a list of dicts; lines that do not parse (a crash mid-write) are skipped."""
    path = Path(path)
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def list_checkpoints(paths: RunPaths) -> list[Path]:
    """The run's step_<n>.pt files, oldest first."""
    if not paths.checkpoints.is_dir():
        return []
    return sorted(p for p in paths.checkpoints.iterdir() if _STEP_FILE.search(p.name))


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

    def save_checkpoint(self) -> Path:
        """Write step_<n>.pt atomically, point latest.pt at it, prune old step files, log an event."""
        self.metrics.flush()  # rows up to the checkpoint are on disk before it is
        step = self.trainer.step_count
        path = save_checkpoint(self.trainer.state_dict(), self.paths.step_checkpoint(step))
        _replace_with_link(path, self.paths.latest)
        self.last_checkpoint_step = step
        if self.keep_checkpoints:
            for old in list_checkpoints(self.paths)[: -self.keep_checkpoints]:
                old.unlink(missing_ok=True)
        self.log("checkpoint", path=str(path.name))
        return path

    def close(self) -> None:
        """Flush and close the metrics, quality and event files."""
        self.metrics.close()
        if self.quality is not None:
            self.quality.close()
        self.events.close()


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


def open_run_for_resume(run_dir: str | os.PathLike,
                        distributed: DistributedInfo = SINGLE_PROCESS) -> tuple[Trainer, RunPaths]:
    """A Trainer restored from run_dir's latest.pt, with metrics.csv cut back to that step (by rank 0)."""
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise ValueError(f"run directory {str(paths.root)!r} does not exist")
    if not paths.latest.exists():
        raise ValueError(f"run directory {str(paths.root)!r} has no checkpoints/latest.pt to resume from")
    state = load_checkpoint(paths.latest)
    trainer = Trainer(RunConfig.from_dict(state["config"]), distributed=distributed)
    trainer.load_state_dict(state)
    # Rows logged after the checkpoint will be trained again; drop them so steps stay contiguous.
    if distributed.is_main:
        truncate_metrics(paths.metrics, trainer.step_count)
    return trainer, paths


LIVE_WINDOW_S = 15.0  # a run whose metrics.csv grew this recently, with no end event, is live


@dataclass(frozen=True)
class RunSummary:
    """One line of a runs listing."""

    path: Path
    name: str
    steps: int
    status: str
    """live (metrics.csv still growing), finished, failed, or stopped (ended without an end event)."""
    modified: float
    config: dict[str, Any]


def summarize_run(path: str | os.PathLike, now: float | None = None) -> RunSummary | None:
    """Status, steps and config of one run directory, read cheaply (the last metrics line only); None if not a run."""
    paths = RunPaths(Path(path))
    try:
        config = json.loads(paths.config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    events = read_events(paths.events)
    last = next((e.get("kind") for e in reversed(events) if e.get("kind") in _END_KINDS), None)
    modified = max((p.stat().st_mtime for p in (paths.metrics, paths.events, paths.config) if p.exists()),
                   default=0.0)
    now = time.time() if now is None else now
    if last in ("finish", "stop"):
        status = "finished"
    elif last == "failed":
        status = "failed"
    else:
        status = "live" if now - modified <= LIVE_WINDOW_S else "stopped"
    return RunSummary(path=paths.root, name=str(config.get("name", paths.root.name)),
                      steps=last_logged_step(paths.metrics), status=status, modified=modified, config=config)


def last_logged_step(metrics_path: Path) -> int:
    """The step of metrics.csv's last complete row, reading only the file's tail; 0 if none."""
    try:
        with open(metrics_path, "rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - 4096))
            lines = file.read().decode("utf-8", errors="replace").split("\n")[:-1]  # drop a partial tail
    except OSError:
        return 0
    for line in reversed(lines):
        head = line.split(",", 1)[0]
        if head.isdigit():
            return int(head)
    return 0


def list_runs(runs_root: str | os.PathLike = DEFAULT_RUNS_ROOT) -> list[RunSummary]:
    """Run directories (those with a config.json) under runs_root, newest first."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    summaries = [summarize_run(path) for path in root.iterdir() if path.is_dir()]
    return sorted((s for s in summaries if s is not None), key=lambda s: s.modified, reverse=True)


def config_differences(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{dotted field: {run label: value}} for every config field whose value differs between runs."""
    flat = {label: _flatten(config) for label, config in configs.items()}
    fields = sorted(set().union(*flat.values())) if flat else []
    return {field: {label: values.get(field) for label, values in flat.items()}
            for field in fields if len({json.dumps(values.get(field)) for values in flat.values()}) > 1}


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
