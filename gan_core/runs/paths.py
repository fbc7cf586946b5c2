"""Names inside a run directory: where each part lives, (step, path) listings parsed from file names, events."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_core.files import MAX_EVENTS_BYTES, read_text

AUTOMATIC_CHECKPOINT = re.compile(r"^step_(\d{1,18})\.pt$")
MANUAL_CHECKPOINT = re.compile(r"^manual_(\d{1,18})\.pt$")
SAMPLE_GRID = re.compile(r"^step_(\d{1,18})\.png$")
BEST_CHECKPOINT = "best.pt"
MAX_GRID_BYTES = 32 << 20  # our grids are a few hundred KB; a larger "grid" is not ours
# Temp files of a write interrupted by a kill: safe_io.atomic_writer's .<name>.<random>.tmp (every file
# below) and recorder's .latest.pt.<pid>.tmp; metrics.csv.tmp and quality.csv.tmp from older versions.
_TEMP_FILE = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")
_ROOT_FILES = ("config.json", "metrics.csv", "events.jsonl", "quality.csv", "quality_reference.json",
               "bookmarks.json", "run_meta.json")
PAGE_FILES = ("bookmarks.json", "run_meta.json")  # written by the page, which does not own the run
_LEGACY_TEMP_FILES = ("metrics.csv.tmp", "quality.csv.tmp")
_CHECKPOINT_FILE = re.compile(r"^(step_\d+|manual_\d+|latest|best)\.pt$")
_GRID_FILE = re.compile(r"^step_\d+\.png$")
PAGE_WRITE_GRACE_S = 60.0  # a page write takes milliseconds: an older temp file is a kill's leftover


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
    """(step, path) of the regular files (not links) in folder whose whole name matches pattern (and of at
    most max_bytes, when given), by step."""
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
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or (max_bytes is not None and info.st_size > max_bytes):
            continue  # a link, folder or FIFO named like a step file, or a grid too large to be ours
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
    if _is_plain_file(paths.best):
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


def temp_files(paths: RunPaths, samples: bool = True) -> list[Path]:
    """The temp files a kill during a write may have left in the run (regular files named as ours write them)."""
    found = []
    for folder, names in ((paths.root, None), (paths.checkpoints, _CHECKPOINT_FILE), (paths.samples, _GRID_FILE)):
        if folder == paths.samples and not samples:
            continue
        for path in _scan(folder):
            match = _TEMP_FILE.match(path.name)
            if names is None:
                ours = path.name in _LEGACY_TEMP_FILES or (match is not None and match["name"] in _ROOT_FILES)
            else:
                ours = match is not None and names.match(match["name"]) is not None
            try:
                if ours and stat.S_ISREG(path.lstat().st_mode):
                    found.append(path)
            except OSError:
                pass
    return found


def clean_temp_files(paths: RunPaths, min_age_s: float = 0.0, samples: bool = True) -> list[Path]:
    """Remove temp files left by a kill during a write (temp_files) at least min_age_s old; returns them.

    The page writes bookmarks.json and run_meta.json without owning the run, so their temp files are removed
    only once PAGE_WRITE_GRACE_S old, whoever asks. samples: also look in samples/ (it may hold thousands).
    """
    removed = []
    now = time.time()
    for path in temp_files(paths, samples):
        match = _TEMP_FILE.match(path.name)
        page = match is not None and match["name"] in PAGE_FILES and path.parent == paths.root
        try:
            if now - path.lstat().st_mtime >= max(min_age_s, PAGE_WRITE_GRACE_S if page else 0.0):
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


def _is_plain_file(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


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


def cut_events(path: str | os.PathLike, last_step: int) -> str | None:
    """events.jsonl's text without the events of steps after last_step, lines that do not parse and a partial
    last line (a kill mid-write); None when the file is missing. A link or a FIFO is an UnreadableFile."""
    try:
        text = read_text(path, MAX_EVENTS_BYTES, strict=False)
    except FileNotFoundError:
        return None
    kept = []
    for line in text[: text.rfind("\n") + 1].splitlines(keepends=True):
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        step = event.get("step", 0) if isinstance(event, dict) else None
        if type(step) is int and step <= last_step:
            kept.append(line)
    return "".join(kept)
