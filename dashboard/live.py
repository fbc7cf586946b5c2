"""The live view's browser components: charts and images that receive only what is new.

Each tab remembers what it has sent (`sent`, in st.session_state); each refresh builds one small
message per component from the session's rows, events, quality rows and grids since then. The
browser keeps everything it has been sent (dashboard/static/*.js) and asks for a full resend with
the trigger "resync" if a message ever fails to continue what it holds. Message builders are pure
functions of a Snapshot and the `sent` record, so tests check exactly what a refresh sends.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from gan_core.control.snapshot import Snapshot
from gan_core.files import UnreadableFile, read_bytes
from gan_core.runs.paths import RunPaths, sample_grids

STATIC = Path(__file__).resolve().parent / "static"
CHART_COLUMNS = ("step", "wall_time", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                 "overfit_r", "augment_p", "d_fake_std")
QUALITY_FIELDS = ("step", "fid", "precision", "recall", "classes_covered",
                  "modes_covered", "modes_total", "high_quality_share", "kl", "js")  # the last five: 2D toys
MARKED_EVENTS = ("pause", "resume", "update", "nonfinite", "restore", "health", "best")
MAX_GRID_FILE_BYTES = 8 * 2**20  # a saved grid larger than this is not ours: not sent to the browser

_CSS = (STATIC / "live.css").read_text(encoding="utf-8")


def _module(name: str) -> str:
    """A component's module: the feed client (feed_poll.js), then the component's own code."""
    return "\n".join((STATIC / file).read_text(encoding="utf-8") for file in ("feed_poll.js", name))


# Shipped inside the package and passed inline: nothing is fetched at run time.
_chart_component = st.components.v2.component(
    "gan_workbench.live_charts", js=_module("live_charts.js"), css=_CSS, isolate_styles=False)
_image_component = st.components.v2.component(
    "gan_workbench.live_images", js=_module("live_images.js"), css=_CSS, isolate_styles=False)
status_component = st.components.v2.component(
    "gan_workbench.live_status", js=_module("live_status.js"), css=_CSS, isolate_styles=False)


def _encode(values: np.ndarray) -> str:
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
            columns[name] = _encode(values if name == "wall_time" else values.astype(np.float32))
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


def _component_state(key: str) -> dict[str, Any]:
    """A component's state and this run's trigger values, as Streamlit keeps them under its key."""
    value = st.session_state.get(key)
    return dict(value) if hasattr(value, "keys") else {}


def current_snapshot(session, reader: str) -> Snapshot:
    """The session's state for a part of the page that needs no metric rows: its own cursor keeps the
    copy to the rows since that part's last look (none, in the steady state)."""
    key = f"cursor.{reader}"
    snapshot = session.snapshot(since=st.session_state.get(key, 0))
    st.session_state[key] = snapshot.cursor
    return snapshot


def take_snapshot(session, key: str = "live.charts") -> Snapshot:
    """The session's state with the metric rows this tab's charts have not been sent yet."""
    state = st.session_state
    if _component_state(key).get("resync"):
        state[f"{key}.sent"] = {}  # the browser lost a message: send everything once
    return session.snapshot(since=state.get(f"{key}.sent", {}).get("cursor", 0))


def render_charts_from_feed(feed: dict[str, Any], key: str = "live.charts") -> None:
    """Mount the chart component on the live feed: it fetches its rows itself (dashboard/feed.py)."""
    _chart_component(key=key, data={"key": key, "feed": feed})


def render_images_from_feed(feed: dict[str, Any], key: str = "live.images") -> None:
    """Mount the image component on the live feed: it fetches new grids itself (dashboard/feed.py)."""
    _image_component(key=key, data={"key": key, "feed": feed})


def render_charts(snapshot: Snapshot, key: str = "live.charts") -> None:
    """Mount the chart component with what is new since this tab's last refresh (see take_snapshot)."""
    message, record = chart_message(snapshot, st.session_state.get(f"{key}.sent", {}))
    message["key"] = key
    _chart_component(key=key, data=message, on_resync_change=_ignore)
    st.session_state[f"{key}.sent"] = record


def _ignore() -> None:
    """The component's triggers are read from session_state before the next message is built."""


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


def image_message(snapshot: Snapshot, sent: dict[str, Any], real_png, timeline_request: dict | None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record): a grid only when a new one exists, real images once, new saved steps,
    and the chosen saved grid (the newest unless the user pinned one) only when it changes."""
    run = snapshot.run_dir or ""
    same_run = sent.get("run") == run
    message: dict[str, Any] = {"run": run, "seq": sent.get("seq", 0) + 1, "grid": None, "real": None,
                               "timeline": None}
    record = dict(sent) if same_run else {}
    record.update(run=run, seq=message["seq"])
    if snapshot.grid is not None and (not same_run or sent.get("grid_step") != snapshot.grid_step):
        message["grid"] = {"step": snapshot.grid_step, "png": png_base64(snapshot.grid)}
        record["grid_step"] = snapshot.grid_step
    if snapshot.config is not None:
        data_key = hashlib.sha1(repr(snapshot.config.data).encode()).hexdigest()[:16]  # echoed back by the feed
        if sent.get("real") != data_key:
            message["real"] = {"png": real_png(snapshot.config.data)}
            record["real"] = data_key
    saved = sample_grids(RunPaths(run)) if run else []  # (step, path), by step
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


def render_images(snapshot: Snapshot, real_png, key: str = "live.images") -> None:
    """Mount the image component with only what changed for this tab."""
    state = st.session_state
    request = _component_state(key).get("timeline")
    message, record = image_message(snapshot, state.get(f"{key}.sent", {}), real_png, request)
    message["key"] = key
    _image_component(key=key, data=message, on_timeline_change=_ignore)
    state[f"{key}.sent"] = record
