"""The Runs view's live status: this run's checkpoints, the opened runs' lines and the runs that are live now.
Pure functions of a runs listing and the session's Snapshot (no Streamlit); the live feed sends the message
only when it changed, and its `phase` (which runs are live) reruns the page when a run starts or ends."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from gan_core.control.snapshot import Snapshot
from gan_core.runs.admin import RunMeta
from gan_core.runs.listing import RunSummary
from gan_core.runs.paths import RunPaths, checkpoint_files

CHECKPOINT_COLUMNS = ("file", "step", "size_kb", "written")


def checkpoints(paths: RunPaths) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoint files, then latest.pt with the step of the file it links to
    (-1 when it is a copy of none of them)."""
    files = checkpoint_files(paths)
    if not paths.latest.is_file():
        return files
    try:
        latest = paths.latest.stat()
        step = next((s for s, p in files if s >= 0 and _same_file(p, latest)), -1)
    except OSError:
        step = -1
    return files + [(step, paths.latest)]


def _same_file(path: Path, info) -> bool:
    """Whether path is the file `info` was read from (latest.pt is a hard link to the newest step file)."""
    try:
        other = path.stat()
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


def checkpoint_rows(paths: RunPaths) -> list[list[Any]]:
    """A run's checkpoints as [file, step, size in kB, time written], regular files only, by step."""
    rows = []
    for step, path in checkpoints(paths):
        try:
            info = path.stat()
        except OSError:
            continue
        rows.append([path.name, str(step) if step >= 0 else "–", round(info.st_size / 1024),
                     time.strftime("%H:%M:%S", time.localtime(info.st_mtime))])
    return rows


def run_labels(runs: list[RunSummary], metas: dict[str, RunMeta]) -> dict[str, str]:
    """What each run is called on the page: its display name (with the folder when two share one), or its folder."""
    names = [metas[run.path.name].display_name for run in runs] + [run.path.name for run in runs]
    labels = {}
    for run in runs:
        display = metas[run.path.name].display_name
        if not display:
            labels[run.path.name] = run.path.name
        else:  # a name shared with another run (or another run's folder) keeps the folder beside it
            shared = names.count(display) - (display == run.path.name) > 1
            labels[run.path.name] = f"{display} ({run.path.name})" if shared else display
    return labels


def run_line(label: str, summary: RunSummary) -> str:
    """One run's name, status and steps (and who writes it), as plain text."""
    line = f"{label} · status {summary.status} · steps {summary.steps}"
    return line + (f" · folder {summary.path.name}" if label != summary.path.name else "") \
        + (f" · written by {summary.owner}" if summary.owner else "")


def this_process() -> str:
    """How a run lock names this process ('pid N on host H'): runs it trains are the status line's to follow."""
    return f"pid {os.getpid()} on host {socket.gethostname()[:100]} "


def runs_message(runs: list[RunSummary], labels: dict[str, str], opened: tuple[str, ...],
                 snapshot: Snapshot) -> dict[str, Any]:
    """This run's checkpoints (while the session has a run), the opened runs' lines, the live runs' steps,
    and the phase: which runs other processes write (the page redraws its table and charts when that
    changes; this server's own runs change the status line's phase, and a start or resume must not rerun the
    page while it loads the run)."""
    message: dict[str, Any] = {"lines": [], "tables": []}
    if snapshot.run_dir:
        rows = checkpoint_rows(RunPaths(Path(snapshot.run_dir)))
        message["tables"].append({"title": f"Checkpoints of the current run, step {snapshot.step}: "
                                           f"{Path(snapshot.run_dir).name}",
                                  "columns": list(CHECKPOINT_COLUMNS), "rows": rows,
                                  "empty": "No checkpoint yet in this run."})
    by_name = {run.path.name: run for run in runs}
    for name in opened:
        if name in by_name:
            message["lines"].append(["caption", run_line(labels.get(name, name), by_name[name])])
    live = [run for run in runs if run.status == "live"]
    if live:
        message["tables"].append({"title": "Live now", "columns": ["run", "steps"],
                                  "rows": [[labels.get(run.path.name, run.path.name), run.steps] for run in live]})
    mine = this_process()
    message["phase"] = sorted(run.path.name for run in live if not (run.owner or "").startswith(mine))
    return message
