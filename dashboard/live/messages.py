"""The live view's messages: what a refresh sends to the status line, the charts and the images.

Each builder is a pure function of a Snapshot and the `sent` record the browser echoes back (what it holds),
and returns (message, new sent record): only what is new crosses the wire. No Streamlit here: the live feed
(live/feed.py) answers with these, and tests check exactly what a refresh sends.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dashboard.live.spec import CHART_COLUMNS, MARKED_EVENTS, QUALITY_FIELDS
from gan_core.control.snapshot import Snapshot
from gan_core.files import UnreadableFile, read_bytes
from gan_core.runs.paths import RunPaths, sample_grids

MAX_GRID_FILE_BYTES = 8 * 2**20  # a saved grid larger than this is not ours: not sent to the browser


def encode(values: np.ndarray) -> str:
    """An array's bytes as base64 (the browser reads them into a typed array of the same dtype)."""
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _finite_or_none(value: Any) -> float | None:
    """JSON has no NaN: non-finite numbers travel as null."""
    number = float(value)
    return number if math.isfinite(number) else None


def event_marker(event: dict[str, Any]) -> dict[str, Any]:
    """The fields a chart marker needs: step, wall time, kind and a plain-text detail."""
    detail = event.get("changes") or event.get("message") or event.get("rule") or ""
    if isinstance(detail, dict):
        detail = ", ".join(f"{name}={value}" for name, value in detail.items())
    if event.get("kind") == "best":
        detail = f"FID {event.get('fid')}" if "fid" in event else f"JS {event.get('js')}"
    return {"step": int(event.get("step", 0)), "time": float(event.get("time", 0.0)),
            "kind": str(event.get("kind")), "detail": str(detail)[:300]}


def chart_message(snapshot: Snapshot, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record): the rows, marked events and quality rows this tab has not been sent.

    `snapshot` must have been taken with since=sent["cursor"], so its rows are exactly the new ones.
    """
    run, generation = snapshot.run_dir or "", snapshot.cursor[0]
    continues = sent.get("run") == run and sent.get("gen") == generation and not snapshot.reset
    rows = snapshot.rows
    start = snapshot.cursor[1] - len(rows)
    # A 2D run's best JS improves at most evaluations (every 100 steps): marking each would hide the rest.
    events = [event_marker(e) for e in snapshot.events
              if e.get("kind") in MARKED_EVENTS and not (e.get("kind") == "best" and "fid" not in e)]
    events_start = sent.get("events", 0) if continues else 0
    quality_start = sent.get("quality", 0) if continues else 0
    new_quality = snapshot.quality[quality_start:]
    columns: dict[str, str] = {}
    if rows:
        table = np.asarray(rows, dtype=np.float64)  # (new rows, len(snapshot.columns))
        for name in CHART_COLUMNS:
            values = table[:, snapshot.columns.index(name)] if name in snapshot.columns else np.full(len(rows), np.nan)
            columns[name] = encode(values if name == "wall_time" else values.astype(np.float32))
    reference = snapshot.quality_reference or {}
    message = {
        "run": run, "gen": generation, "start": start, "n": len(rows), "cols": columns,
        "events_start": events_start, "events": events[events_start:],
        "quality_start": quality_start,
        "quality": {field: [_finite_or_none(row.get(field, math.nan)) for row in new_quality]
                    for field in QUALITY_FIELDS} if new_quality else {},
        "reference_fid": _finite_or_none(reference["fid"]) if "fid" in reference else None,
        "seq": sent.get("seq", 0) + 1,
    }
    record = {"run": run, "gen": generation, "cursor": snapshot.cursor, "events": len(events),
              "quality": quality_start + len(new_quality), "seq": message["seq"]}
    return message, record


def png_base64(image: np.ndarray) -> str:
    """A uint8 (H, W) or (H, W, 3) image as base64 PNG at native size (the browser scales it up)."""
    buffer = io.BytesIO()
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]  # (H, W, 1) grey -> (H, W)
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def read_saved_grid(path: Path) -> str | None:
    """A saved grid's bytes as base64, if it is a regular PNG file of sane size."""
    try:
        data = read_bytes(path, MAX_GRID_FILE_BYTES)  # a regular file, never a link or FIFO
    except (OSError, UnreadableFile):
        return None
    return base64.b64encode(data).decode("ascii") if data.startswith(b"\x89PNG") else None


def image_message(snapshot: Snapshot, sent: dict[str, Any], real_png, timeline_request: dict | None,
                  saved_grids: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record): a grid only when a new one exists, real images once (none when real_png is
    None), new saved steps and the chosen saved grid (the newest unless the user pinned one) only when it
    changes (none without saved_grids: the live grid alone, as an A/B side shows it)."""
    run = snapshot.run_dir or ""
    message, record, same_run = _image_start(run, sent)
    if snapshot.grid is not None and (not same_run or sent.get("grid_step") != snapshot.grid_step):
        message["grid"] = {"step": snapshot.grid_step, "png": png_base64(snapshot.grid)}
        record["grid_step"] = snapshot.grid_step
    if snapshot.config is not None and real_png is not None and not snapshot.config.data.is_points:
        # A 2D set has no image grid of its own (its points are the playground's); a page whose sidebar holds
        # an image data set after a 2D run still asks for this part.
        data_key = hashlib.sha1(repr(snapshot.config.data).encode()).hexdigest()[:16]  # echoed back by the feed
        if sent.get("real") != data_key:
            message["real"] = {"png": real_png(snapshot.config.data)}
            record["real"] = data_key
    saved = sample_grids(RunPaths(run)) if run and saved_grids else []  # (step, path), by step
    return _image_end(message, record, sent, same_run, saved, timeline_request)


def timeline_message(run: str, saved: list[tuple[int, Path]], sent: dict[str, Any], timeline_request: dict | None
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record) of a run's saved grids alone (the Runs view): new steps, and the chosen grid
    (the newest unless the user pinned one) only when it changes; `run` names the run, `saved` is its
    (step, path) list by step."""
    message, record, same_run = _image_start(run, sent)
    return _image_end(message, record, sent, same_run, saved, timeline_request)


def _image_start(run: str, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """An image message with nothing in it yet, its record, and whether the browser holds this run."""
    same_run = sent.get("run") == run
    message: dict[str, Any] = {"run": run, "seq": sent.get("seq", 0) + 1, "grid": None, "real": None,
                               "timeline": None}
    record = dict(sent) if same_run else {}
    record.update(run=run, seq=message["seq"])
    return message, record, same_run


def _image_end(message: dict[str, Any], record: dict[str, Any], sent: dict[str, Any], same_run: bool,
               saved: list[tuple[int, Path]], timeline_request: dict | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add the new saved steps and the chosen saved grid; the last seq again when nothing is new."""
    steps_sent = record.get("steps", 0)
    if steps_sent > len(saved):  # the run was cut back (a restore): send the list again
        steps_sent = 0
    message["steps_start"], message["steps"] = steps_sent, [step for step, _ in saved[steps_sent:]]
    record["steps"] = len(saved)
    pinned = isinstance(timeline_request, dict) and timeline_request.get("pinned")
    wanted = None
    if pinned and isinstance(timeline_request.get("step"), int):
        wanted = next(((s, p) for s, p in saved if s == timeline_request["step"]), None)
    elif saved:
        wanted = saved[-1]
    if wanted is not None and record.get("timeline_step") != wanted[0]:
        png = read_saved_grid(wanted[1])
        if png is not None:
            message["timeline"] = {"step": wanted[0], "png": png}
            record["timeline_step"] = wanted[0]
    if not (message["grid"] or message["real"] or message["timeline"] or message["steps"]):
        # Nothing new: the same message as the last empty one, so the browser has nothing to redo.
        message["seq"] = record["seq"] = sent.get("seq", 0) if same_run else message["seq"]
    return message, record


def format_duration(seconds: float) -> str:
    """H:MM:SS of wall time."""
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def status_fields(snapshot: Snapshot, speed_limit: float | None = None) -> tuple[str, int, list[str], str | None]:
    """(state, step, our parts, what the thread is busy with): epoch, steps/s and images/s over the last
    ~10 s of wall time, the speed limit when one is set, elapsed wall time (and the time inside steps when it
    differs)."""
    parts = [f"epoch {snapshot.epoch}"]
    if snapshot.steps_per_s is not None:
        parts.append(f"{snapshot.steps_per_s:,.1f} steps/s · {snapshot.images_per_s:,.0f} images/s")
    elif snapshot.status == "running":
        parts.append("measuring speed")
    if speed_limit is not None:  # why the run goes slower than the machine could
        parts.append(f"speed limit {speed_limit:g} steps/s")
    if snapshot.config is not None:
        elapsed = f"elapsed {format_duration(snapshot.elapsed_s)}"
        if snapshot.elapsed_s > 0 and abs(snapshot.train_s - snapshot.elapsed_s) > max(2.0, 0.1 * snapshot.elapsed_s):
            elapsed += f" (in steps {format_duration(snapshot.train_s)})"
        parts.append(elapsed)
    busy = snapshot.activity if snapshot.activity and snapshot.status in ("running", "stopping") else None
    return snapshot.status, snapshot.step, parts, busy


def quality_caption(quality: tuple[dict, ...] | list[dict]) -> str:
    """The latest evaluation in words: FID and friends for images; modes and divergences for a 2D toy."""
    row = quality[-1]
    if "js" in row:
        modes = (f"{row['modes_covered']:.0f} of {row['modes_total']:.0f} modes covered, "
                 f"{row['high_quality_share']:.0%} of samples near a mode, "
                 if math.isfinite(row.get("modes_total", math.nan)) else "")
        return f"Latest quality at step {int(row.get('step', 0))}: {modes}KL {row['kl']:.2f}, JS {row['js']:.3f}"
    best = min(q.get("fid", float("inf")) for q in quality)
    return (f"Latest quality at step {int(row.get('step', 0))}: FID {row.get('fid', float('nan')):.2f} "
            f"(best {best:.2f}), precision {row.get('precision', float('nan')):.2f}, "
            f"recall {row.get('recall', float('nan')):.2f}, classes >= 2%: {int(row.get('classes_covered', 0))}")


def health_lines(snapshot: Snapshot) -> list[tuple[str, str]]:
    """(level, plain text) under the status line: why quality cannot be measured, the latest warning of each
    health rule, and the latest evaluation in words. Levels: info, warning, caption."""
    lines: list[tuple[str, str]] = []
    latest: dict[str, dict] = {}
    for event in snapshot.events:
        if event.get("kind") == "health":
            latest[str(event.get("rule"))] = event
        elif event.get("kind") == "quality_unavailable":
            lines.append(("info", f"Quality metrics unavailable: {event.get('message')}"))
    for rule, event in latest.items():
        lines.append(("warning", f"Step {event.get('step')}: {rule.replace('_', ' ')}: {event.get('message')}. "
                                 f"{event.get('hint')}."))
    if snapshot.quality:
        lines.append(("caption", quality_caption(snapshot.quality)))
    return lines


def phase(snapshot: Snapshot) -> list:
    """What decides the page's controls and refresh timers: the status, and whether steps are pending."""
    return [snapshot.status, snapshot.steps_pending > 0]


def status_message(snapshot: Snapshot, speed_limit: float | None = None) -> dict[str, Any]:
    """What the status component shows: the line (with the session's speed limit, steps per second, when one
    is set), the run directory, health lines, and the run's phase (a snapshot taken without rows: the status
    needs none)."""
    status, step, parts, busy = status_fields(snapshot, speed_limit)
    return {"status": status, "step": step, "parts": parts + ([f"busy: {busy}"] if busy else []),
            "run_dir": snapshot.run_dir or "",
            "lines": [[level, text[:1000]] for level, text in health_lines(snapshot)],
            "phase": phase(snapshot)}
