"""Listing run directories cheaply and safely: one bad or hostile folder is 'unreadable', never an error."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_core.config.schema import RunConfig
from gan_core.runs.paths import PAGE_WRITE_GRACE_S, RunPaths, clean_temp_files, read_events
from gan_core.runs.lock import lock_state
from gan_core.files import MAX_METRICS_BYTES, UnreadableFile, open_regular, read_json

DEFAULT_RUNS_ROOT = "runs"
LIVE_WINDOW_S = 15.0  # a run whose metrics.csv grew this recently, with no end event, is live
_END_KINDS = ("finish", "stop", "failed", "start", "resume")


@dataclass(frozen=True)
class RunSummary:
    """One line of a runs listing."""

    path: Path
    name: str
    steps: int
    status: str
    """live (owned by a running process, or metrics.csv still growing), finished, failed, stopped
    (ended without an end event), or unreadable (see reason)."""
    modified: float
    config: dict[str, Any]
    reason: str | None = None
    """Why the run is unreadable (status 'unreadable'), as plain text; None otherwise."""
    owner: str | None = None
    """'pid N on host H since T' while a live process owns (writes) the run; such a run must not be resumed."""


def summarize_run(path: str | os.PathLike, now: float | None = None) -> RunSummary | None:
    """Status, steps and config of one run directory, read cheaply; None if it has no config.json.

    Never raises for a bad folder: a config.json that is not a regular file, too large, not UTF-8,
    not JSON or not a valid config, or an unreadable metrics.csv/events.jsonl, gives status
    'unreadable' with the reason.
    """
    paths = RunPaths(Path(path))
    try:
        paths.config.lstat()
    except OSError:
        return None
    try:
        modified = max((p.stat().st_mtime for p in (paths.metrics, paths.events, paths.config) if p.exists()),
                       default=0.0)
    except OSError:
        modified = 0.0
    try:
        config = _read_config(paths)
        events = read_events(paths.events)
        steps = last_logged_step(paths.metrics, strict=True)
    except (UnreadableFile, OSError) as error:
        reason = str(error) if isinstance(error, UnreadableFile) else f"{type(error).__name__}: {error.strerror or error}"
        return RunSummary(path=paths.root, name=paths.root.name, steps=0, status="unreadable",
                          modified=modified, config={}, reason=reason)
    owner, lock_problem = lock_state(paths.root)
    if lock_problem is not None:  # a folder, a link or a crafted lock: not ours, so neither live nor ended
        return RunSummary(path=paths.root, name=paths.root.name, steps=0, status="unreadable",
                          modified=modified, config={}, reason=lock_problem)
    last = next((e.get("kind") for e in reversed(events) if e.get("kind") in _END_KINDS), None)
    now = time.time() if now is None else now
    if owner is not None:
        status = "live"
    elif last in ("finish", "stop"):
        status = "finished"
    elif last == "failed":
        status = "failed"
    else:
        status = "live" if now - modified <= LIVE_WINDOW_S else "stopped"
    return RunSummary(path=paths.root, name=str(config.get("name", paths.root.name)), steps=steps,
                      status=status, modified=modified, config=config, owner=owner)


def _read_config(paths: RunPaths) -> dict[str, Any]:
    """config.json as a dict that RunConfig accepts; UnreadableFile naming the problem otherwise."""
    config = read_json(paths.config)
    try:
        RunConfig.from_dict(config)
    except (ValueError, TypeError) as error:
        raise UnreadableFile(f"config.json is not a valid run config: {str(error)[:300]}") from None
    return config


def last_logged_step(metrics_path: Path, strict: bool = False) -> int:
    """The step of metrics.csv's last complete row, reading only the file's tail; 0 if none.

    strict: a metrics.csv that is not a regular file or is too large raises UnreadableFile (else 0).
    """
    try:
        fd = open_regular(metrics_path, MAX_METRICS_BYTES)
    except FileNotFoundError:
        return 0
    except (OSError, UnreadableFile):
        if strict:
            raise
        return 0
    with os.fdopen(fd, "rb") as file:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - 4096))
        lines = file.read(4096).decode("utf-8", errors="replace").split("\n")[:-1]  # drop a partial tail
    for line in reversed(lines):
        head = line.split(",", 1)[0]
        if head.isascii() and head.isdigit() and len(head) <= 18:
            return int(head)
    return 0


def list_runs(runs_root: str | os.PathLike = DEFAULT_RUNS_ROOT) -> list[RunSummary]:
    """Run directories (those with a config.json) under runs_root, newest first; bad ones as 'unreadable'.

    Temp files a kill left in runs no live process writes are removed once a minute old (clean_temp_files).
    """
    root = Path(runs_root)
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    summaries = []
    for entry in entries:
        try:
            if not stat.S_ISDIR(entry.stat().st_mode):
                continue
        except OSError:
            continue
        try:
            summary = summarize_run(root / entry.name)
        except (OSError, ValueError) as error:  # one folder's surprise never hides the others
            summary = RunSummary(path=root / entry.name, name=entry.name, steps=0, status="unreadable",
                                 modified=0.0, config={}, reason=f"{type(error).__name__}: {str(error)[:200]}")
        if summary is None:
            continue
        if summary.status in ("finished", "failed", "stopped"):
            # No live writer: a kill's leftover temp files go (a minute old, so no write in progress is hit).
            clean_temp_files(RunPaths(summary.path), min_age_s=PAGE_WRITE_GRACE_S, samples=False)
        summaries.append(summary)
    return sorted(summaries, key=lambda s: s.modified, reverse=True)


def config_with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """The config with every field, defaults filled in (a config.json written before a field existed);
    as it is when it does not validate."""
    try:
        return RunConfig.from_dict(values).to_dict()
    except (ValueError, TypeError, KeyError, AttributeError):
        return values


def flatten_config(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'optimizer.lr_g': 0.0002, ...} from a nested config dict."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
