"""Names inside a run directory: where each part lives, (step, path) listings parsed from file names, events."""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_core.run_lock import LOCK_NAME
from gan_core.safe_io import MAX_EVENTS_BYTES, read_text

AUTOMATIC_CHECKPOINT = re.compile(r"^step_(\d{1,18})\.pt$")
MANUAL_CHECKPOINT = re.compile(r"^manual_(\d{1,18})\.pt$")
SAMPLE_GRID = re.compile(r"^step_(\d{1,18})\.png$")
BEST_CHECKPOINT = "best.pt"
MAX_GRID_BYTES = 32 << 20  # our grids are a few hundred KB; a larger "grid" is not ours
# Temp files of an atomic write interrupted by a kill: save_checkpoint's mkstemp names and the link's.
_TEMP_FILE = re.compile(r"^\.(step_\d+\.pt|manual_\d+\.pt|latest\.pt|best\.pt)\..+\.tmp$")


@dataclass(frozen=True)
class RunPaths:
    """Where each part of a run directory lives; the engine spells these names nowhere else.

        <root>/config.json, metrics.csv, events.jsonl, quality.csv, quality_reference.json,
               bookmarks.json, run_meta.json, owner.lock
        <root>/checkpoints/step_<n>.pt, manual_<n>.pt, latest.pt, best.pt
        <root>/samples/step_<n>.png
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        """config.json: the RunConfig exactly as trained."""
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        """metrics.csv: one row per step (columns.METRIC_NAMES)."""
        return self.root / "metrics.csv"

    @property
    def events(self) -> Path:
        """events.jsonl: one JSON object per event."""
        return self.root / "events.jsonl"

    @property
    def quality(self) -> Path:
        """quality.csv: one row per live evaluation (columns.QUALITY_COLUMNS)."""
        return self.root / "quality.csv"

    @property
    def quality_reference(self) -> Path:
        """quality_reference.json: the real data's own scores, the floor under the FID curve."""
        return self.root / "quality_reference.json"

    @property
    def bookmarks(self) -> Path:
        """bookmarks.json: seeds a user bookmarked in the latent explorer."""
        return self.root / "bookmarks.json"

    @property
    def meta(self) -> Path:
        """run_meta.json: the display name, tags and note a person gave the run (run_admin)."""
        return self.root / "run_meta.json"

    @property
    def owner_lock(self) -> Path:
        """owner.lock: the one writer's pid and host (run_lock)."""
        return self.root / LOCK_NAME

    @property
    def checkpoints(self) -> Path:
        """checkpoints/"""
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        """checkpoints/latest.pt: a hard link to the newest step_<n>.pt or manual_<n>.pt."""
        return self.checkpoints / "latest.pt"

    @property
    def best(self) -> Path:
        """checkpoints/best.pt: the weights with the best FID so far."""
        return self.checkpoints / BEST_CHECKPOINT

    @property
    def samples(self) -> Path:
        """samples/"""
        return self.root / "samples"

    def step_checkpoint(self, step: int) -> Path:
        """checkpoints/step_<step>.pt (written automatically every checkpoint_every steps)."""
        return self.checkpoints / f"step_{step:07d}.pt"

    def manual_checkpoint(self, step: int) -> Path:
        """checkpoints/manual_<step>.pt (asked for by a user; never pruned)."""
        return self.checkpoints / f"manual_{step:07d}.pt"

    def sample_grid(self, step: int) -> Path:
        """samples/step_<step>.png"""
        return self.samples / f"step_{step:07d}.png"


def numbered_files(folder: Path, pattern: re.Pattern[str], max_bytes: int | None = None) -> list[tuple[int, Path]]:
    """(step, path) of the regular files in folder whose whole name matches pattern (and of at most
    max_bytes, when given), by step."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or (max_bytes is not None and info.st_size > max_bytes):
            continue  # a folder or FIFO named like a step file, or a grid too large to be ours
        found.append((int(match.group(1)), Path(folder) / entry.name))
    return sorted(found, key=lambda item: (item[0], item[1].name))


def list_checkpoints(paths: RunPaths) -> list[Path]:
    """The run's automatic step_<n>.pt files, oldest step first."""
    return [path for _, path in numbered_files(paths.checkpoints, AUTOMATIC_CHECKPOINT)]


def checkpoint_files(paths: RunPaths) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint a user may open: step_<n>.pt, manual_<n>.pt and best.pt, by step.

    best.pt's step comes from the run's last `best` event (-1 when no event says).
    """
    files = numbered_files(paths.checkpoints, AUTOMATIC_CHECKPOINT) + numbered_files(paths.checkpoints,
                                                                                     MANUAL_CHECKPOINT)
    if paths.best.is_file():
        try:
            steps = [e["step"] for e in read_events(paths.events) if e.get("kind") == "best"]
        except ValueError:
            steps = []
        best_step = steps[-1] if steps and isinstance(steps[-1], int) else -1
        files.append((best_step, paths.best))
    return sorted(files, key=lambda item: (item[0], item[1].name))


def sample_grids(paths: RunPaths) -> list[tuple[int, Path]]:
    """(step, path) of samples/step_<n>.png, by step; other names (step_final.png), non-regular files
    and files over MAX_GRID_BYTES are skipped."""
    return numbered_files(paths.samples, SAMPLE_GRID, MAX_GRID_BYTES)


def clean_temp_files(paths: RunPaths) -> list[Path]:
    """Remove temp files left by a kill during an atomic write (checkpoints, links); returns them."""
    removed = []
    for path in _scan(paths.checkpoints) + _scan(paths.root):
        if _TEMP_FILE.match(path.name) or path.name == "metrics.csv.tmp":
            try:
                if stat.S_ISREG(path.lstat().st_mode):
                    path.unlink()
                    removed.append(path)
            except OSError:
                pass
    return removed


def _scan(folder: Path) -> list[Path]:
    try:
        return [Path(folder) / entry.name for entry in os.scandir(folder)]
    except OSError:
        return []


def read_events(path: str | os.PathLike) -> list[dict[str, Any]]:
    """events.jsonl as a list of dicts; lines that do not parse (a crash mid-write) are skipped.

    A missing file is no events; one that is not a regular file or is too large is an UnreadableFile.
    """
    try:
        text = read_text(path, MAX_EVENTS_BYTES, strict=False)
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(event, dict) and isinstance(event.get("kind", ""), str) \
                and isinstance(event.get("step", 0), int) and not isinstance(event.get("step", 0), bool):
            events.append(event)
    return events
