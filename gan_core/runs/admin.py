"""Looking after run directories: display name, tags and note (run_meta.json), deletion, config over time.

The directory's own name never changes (another process may be writing it); what a person calls a run
lives in run_meta.json beside config.json, written atomically and read as untrusted input.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_core.config.fields import live_field
from gan_core.runs.paths import RunPaths, read_events
from gan_core.runs.listing import LIVE_WINDOW_S, config_with_defaults, flatten_config, summarize_run
from gan_core.runs.lock import run_owner
from gan_core.files import UnreadableFile, read_json, write_atomic

META_NAME = RunPaths(Path()).meta.name  # run_meta.json, spelled in RunPaths
MAX_META_BYTES = 64 << 10
MAX_NAME_CHARS = 80
MAX_TAGS = 16
MAX_TAG_CHARS = 32
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class RunMeta:
    """What a person calls a run: a display name, tags and a free-text note (all optional)."""

    display_name: str = ""
    """Shown instead of the directory name; empty: the directory name."""
    tags: tuple[str, ...] = ()
    """Short labels for filtering, in the order given, without duplicates."""
    note: str = ""
    """Free text: what was tried and what was seen."""


def clean_meta(display_name: Any = "", tags: Any = (), note: Any = "") -> RunMeta:
    """A RunMeta from untrusted values: wrong types dropped, text stripped and cut to the limits."""
    name = " ".join(display_name.split())[:MAX_NAME_CHARS] if isinstance(display_name, str) else ""
    kept: list[str] = []
    for tag in tags if isinstance(tags, (list, tuple)) else ():
        if isinstance(tag, str):
            tag = " ".join(tag.split())[:MAX_TAG_CHARS]
            if tag and tag not in kept:
                kept.append(tag)
    text = note.strip()[:MAX_NOTE_CHARS] if isinstance(note, str) else ""
    return RunMeta(display_name=name, tags=tuple(kept[:MAX_TAGS]), note=text)


def parse_tags(text: str) -> tuple[str, ...]:
    """Comma-separated tags as typed in a text box -> cleaned tags."""
    return clean_meta(tags=text.split(",")).tags


def read_meta(run_dir: str | os.PathLike) -> RunMeta:
    """run_meta.json of a run (a regular file of at most 64 KB); an empty RunMeta when missing or unusable."""
    try:
        values = read_json(RunPaths(Path(run_dir)).meta, MAX_META_BYTES)
    except (OSError, UnreadableFile):
        return RunMeta()
    if not isinstance(values, dict):
        return RunMeta()
    return clean_meta(values.get("display_name", ""), values.get("tags", ()), values.get("note", ""))


def update_meta(runs_root: str | os.PathLike, run_dir: str | os.PathLike, display_name: str | None = None,
                tags: tuple[str, ...] | list[str] | None = None, note: str | None = None) -> RunMeta:
    """Change a run's display name, tags or note (None: keep); written atomically; returns what was saved.

    The run must be a folder directly under runs_root (not a link out of it); ValueError says why not.
    """
    root = checked_run_dir(runs_root, run_dir)
    current = read_meta(root)
    meta = clean_meta(current.display_name if display_name is None else display_name,
                      current.tags if tags is None else tags, current.note if note is None else note)
    text = json.dumps({"display_name": meta.display_name, "tags": list(meta.tags), "note": meta.note}, indent=2)
    write_atomic(RunPaths(root).meta, text + "\n")  # replaces a link named run_meta.json, never writes through it
    return meta


def checked_run_dir(runs_root: str | os.PathLike, run_dir: str | os.PathLike) -> Path:
    """run_dir as a real folder directly inside runs_root with a config.json; ValueError naming the problem.

    A symbolic link (even one pointing back inside) is refused, so nothing outside the root is touched.
    """
    root, path = Path(runs_root), Path(run_dir)
    try:
        info = path.lstat()
        resolved_root = root.resolve(strict=True)
    except OSError:
        raise ValueError(f"run {path.name!r} no longer exists") from None
    if stat.S_ISLNK(info.st_mode):
        raise ValueError(f"run {path.name!r} is a link, not a run directory: left alone")
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"run {path.name!r} is not a folder")
    if path.resolve().parent != resolved_root or path.name in ("", ".", ".."):
        raise ValueError(f"run {path.name!r} is not directly inside the runs folder")
    if not RunPaths(path).config.exists():
        raise ValueError(f"{path.name!r} has no config.json: not a run directory")
    return path


def delete_refusal(runs_root: str | os.PathLike, run_dir: str | os.PathLike,
                   current_run: str | os.PathLike | None = None) -> str | None:
    """Why a run may not be deleted now (a live owner, this page's own run, outside the root), or None."""
    try:
        path = checked_run_dir(runs_root, run_dir)
    except ValueError as error:
        return str(error)
    if current_run is not None and os.path.realpath(current_run) == os.path.realpath(path):
        return "this is the page's current run: start or resume another run first"
    owner = run_owner(path)
    if owner is not None:
        return f"a live process is training it ({owner})"
    summary = summarize_run(path)
    if summary is not None and summary.status == "live":
        return f"its files changed in the last {LIVE_WINDOW_S:.0f} s: another process may still be writing it"
    return None


def delete_run(runs_root: str | os.PathLike, run_dir: str | os.PathLike,
               current_run: str | os.PathLike | None = None) -> None:
    """Remove a run directory and everything in it; ValueError (nothing removed) when delete_refusal says why not."""
    reason = delete_refusal(runs_root, run_dir, current_run)
    if reason is not None:
        raise ValueError(f"cannot delete {Path(run_dir).name!r}: {reason}")
    # rmtree removes links inside the run without following them.
    shutil.rmtree(Path(run_dir))


def config_timeline(config: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The effective config over time: every field at step 0, then each live change from `update` events.

    Rows are {step, field, value, change}; event fields are vetted (live field names, plain values only).
    A field the config.json lacks (written before the field existed) starts at its default, as it trained.
    """
    rows = [{"step": 0, "field": field, "value": value, "change": False}
            for field, value in flatten_config(config_with_defaults(config)).items()]
    for event in events:
        if event.get("kind") != "update" or not isinstance(event.get("changes"), dict):
            continue
        step = event.get("step", 0)
        for name, value in event["changes"].items():
            path = live_field(name) if isinstance(name, str) else None  # runs before dotted paths wrote 'lr_g'
            if path is not None and isinstance(value, (int, float, str, bool)):
                rows.append({"step": int(step), "field": path, "value": value, "change": True})
    return rows


def run_config_timeline(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """config_timeline of a run directory (config.json and events.jsonl); ValueError if unreadable."""
    paths = RunPaths(Path(run_dir))
    config = read_json(paths.config)
    if not isinstance(config, dict):
        raise UnreadableFile("config.json is not a JSON object")
    return config_timeline(config, read_events(paths.events))


def describe_timeline(rows: list[dict[str, Any]]) -> dict[str, str]:
    """{field: 'start value' or 'start -> new (step n) -> ...'}: a run's settings as text, live changes included."""
    described: dict[str, str] = {}
    for row in rows:
        text = str(row["value"])
        if row["change"] and row["field"] in described:
            described[row["field"]] += f" → {text} (step {row['step']})"
        else:
            described[row["field"]] = text
    return described


def timeline_differences(timelines: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, str]]:
    """{field: {run label: described value}} for every field whose start value or live changes differ."""
    described = {label: describe_timeline(rows) for label, rows in timelines.items()}
    fields = sorted(set().union(*described.values())) if described else []
    return {field: {label: values.get(field, "") for label, values in described.items()}
            for field in fields if len({values.get(field, "") for values in described.values()}) > 1}
