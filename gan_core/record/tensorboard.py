"""TensorBoard event files inside a run directory, so a run recorded here opens in TensorBoard too
(`tensorboard --logdir runs/`): every metrics row as scalars, quality scores when evaluated, the fixed-noise
grid whenever one is saved, the config as text and hparams, live changes and health warnings as text.

A resumed run appends a new event file that starts with a purge step: TensorBoard then drops what earlier files
hold after the checkpoint's step, the same steps metrics.csv was cut back to, so no step is shown twice. The
writer is flushed with metrics.csv before every checkpoint, so a kill loses only steps that are trained again.
Cost: one event per metrics row (all its scalars in one Summary), ~20 us (benchmarks/tensorboard_bench.py).
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import secrets
import socket
import struct
import time
from typing import Any, Iterable

import google_crc32c
import numpy as np

from gan_core.columns import METRIC_NAMES
from gan_core.runs.paths import RunPaths

# Columns that are axes, not curves: step is the event's step and wall_time its wall time.
_NOT_SCALARS = ("step", "wall_time")
SCALAR_PREFIX = "metrics/"
QUALITY_PREFIX = "quality/"
GRID_TAG = "samples/fixed_noise"
CONFIG_TAG = "config"
EVENT_TAGS = {"update": "events/live_changes", "health": "events/health", "restore": "events/restores",
              "nonfinite": "events/nonfinite"}
FLUSH_S = 10.0
MAX_GRID_PIXELS = 24 << 20  # a saved grid of ours: at most 256 samples of 256 x 256 pixels, plus padding


def available() -> bool:
    """Whether the tensorboard package is installed (it is a dependency; a broken install only loses events)."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """One event file of a run: scalars, grids and texts at steps; `purge_from(s + 1)` for a run resumed at
    step s drops what earlier files hold after s.

    The file is written here, not by tensorboard's EventFileWriter: that one computes each record's CRC-32C
    in pure Python (~70 us a record) on a thread that holds the GIL, which cost a 2D run 13% of its steps/s;
    with google-crc32c's C code and a buffered file a row costs ~20 us, on the training thread.
    """

    def __init__(self, paths: RunPaths) -> None:
        from tensorboard.compat.proto.event_pb2 import Event

        self._Event = Event
        # A new name nobody can have planted a link at (a random part; created exclusively), in the order the
        # files were written: TensorBoard reads a run's files sorted by name, and a resume's purge must come last.
        name = (f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()[:64]}.{os.getpid()}."
                f"{secrets.token_hex(4)}")
        descriptor = os.open(paths.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        self._file = os.fdopen(descriptor, "wb")
        self._last_flush = time.monotonic()
        self._add(Event(wall_time=time.time(), file_version="brain.Event:2"))

    def purge_from(self, step: int) -> None:
        """TensorBoard drops what earlier event files of this run hold at or after step (a restart marker)."""
        from tensorboard.compat.proto.event_pb2 import SessionLog

        self._add(self._Event(step=step, wall_time=time.time(), session_log=SessionLog(status=SessionLog.START)))

    def row(self, row: dict[str, float]) -> None:
        """A metrics row: every column but step and wall_time as scalar `metrics/<column>`, in one event.

        Encoded by hand from prefixes made once per tag (protobuf's wire format): building 15 Summary.Value
        objects a step cost a 2D run 4% of its steps/s; bytes cost a few microseconds."""
        values = b"".join(_ROW_PREFIXES[name] + struct.pack("<f", row[name]) for name in _ROW_COLUMNS if name in row)
        summary = _field(5, values)  # Event.summary (field 5) holding Summary.value entries (field 1)
        event = (b"\x09" + struct.pack("<d", float(row.get("wall_time", 0.0)))  # Event.wall_time, a double
                 + b"\x10" + _varint(int(row["step"])) + summary)  # Event.step, a varint
        self._record(event)

    def quality(self, step: int, scores: dict[str, Any], wall_time: float) -> None:
        """A live evaluation's scores as `quality/<name>` (step and bookkeeping columns left out)."""
        self._scalars(QUALITY_PREFIX, ((name, value) for name, value in scores.items()
                                       if name not in ("step", "best", "eval_s") and _is_number(value)),
                      step, wall_time)

    def grid(self, step: int, grid: np.ndarray, wall_time: float) -> None:
        """A sample grid, uint8 (H, W) or (H, W, C), as an image at step."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        from gan_core.views.latent import png_bytes

        image = grid if grid.ndim == 3 else grid[:, :, None]
        encoded = Summary.Image(height=image.shape[0], width=image.shape[1], colorspace=image.shape[2],
                                encoded_image_string=png_bytes(grid))
        self._write(Summary(value=[Summary.Value(tag=GRID_TAG, image=encoded)]), step, wall_time)

    def text(self, tag: str, step: int, text: str, wall_time: float) -> None:
        """Markdown text under a tag at step (the text plugin)."""
        from torch.utils.tensorboard.summary import text as text_summary

        self._write(text_summary(tag, text), step, wall_time)

    def config(self, config: dict[str, Any], wall_time: float) -> None:
        """The run's config as text, and its flat fields as hparams (for TensorBoard's HParams view)."""
        from torch.utils.tensorboard.summary import hparams

        self.text(CONFIG_TAG, 0, "```json\n" + json.dumps(config, indent=2, sort_keys=True) + "\n```", wall_time)
        flat = {key: value for key, value in _flatten(config).items() if isinstance(value, (bool, int, float, str))}
        for summary in hparams(flat, {f"{SCALAR_PREFIX}d_loss": math.nan, f"{QUALITY_PREFIX}fid": math.nan}):
            self._write(summary, 0, wall_time)

    def event(self, event: dict[str, Any]) -> None:
        """An events.jsonl event that TensorBoard shows as text: live changes, health warnings, restores."""
        tag = EVENT_TAGS.get(str(event.get("kind")))
        if tag is None:
            return
        detail = event.get("changes") or event.get("message") or ""
        if isinstance(detail, dict):
            old = event.get("old") if isinstance(event.get("old"), dict) else {}
            detail = ", ".join(f"{name}: {old.get(name, '?')} -> {value}" for name, value in detail.items())
        if event.get("kind") == "health" and event.get("hint"):
            detail = f"{detail}. {event['hint']}"
        self.text(tag, int(event.get("step", 0)), str(detail)[:2000], float(event.get("time", 0.0)))

    def flush(self) -> None:
        """Everything written so far reaches the file."""
        if not self._file.closed:
            self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close the event file; safe to call twice."""
        self._file.close()

    def _scalars(self, prefix: str, values: Iterable[tuple[str, Any]], step: int, wall_time: float) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        summary = Summary(value=[Summary.Value(tag=prefix + name, simple_value=float(value)) for name, value in values])
        self._write(summary, step, wall_time)

    def _write(self, summary: Any, step: int, wall_time: float) -> None:
        self._add(self._Event(summary=summary, step=int(step), wall_time=wall_time))

    def _add(self, event: Any) -> None:
        """One event as a TFRecord."""
        self._record(event.SerializeToString())

    def _record(self, data: bytes) -> None:
        """One TFRecord: length, its masked CRC-32C, the serialized event, its masked CRC-32C."""
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", _masked_crc(header)) + data
                         + struct.pack("<I", _masked_crc(data)))
        if time.monotonic() - self._last_flush >= FLUSH_S:  # TensorBoard shows a live run at least this late
            self.flush()


def _varint(value: int) -> bytes:
    """A non-negative integer in protobuf's base-128 varint encoding."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _value_prefix(tag: str) -> bytes:
    """Summary.value entry (field 1) for a scalar tag up to its float: Value.tag (field 1), Value.simple_value's
    key (field 2, 32-bit); the 4 bytes of the float follow."""
    head = _field(1, tag.encode()) + b"\x15"
    return _varint(1 << 3 | 2) + _varint(len(head) + 4) + head


_ROW_COLUMNS = tuple(name for name in METRIC_NAMES if name not in _NOT_SCALARS)
_ROW_PREFIXES = {name: _value_prefix(SCALAR_PREFIX + name) for name in _ROW_COLUMNS}


def _masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of data."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, (list, tuple)):
            flat[f"{prefix}{key}"] = value
    return flat


def export_run(run_dir: str | os.PathLike) -> dict[str, int]:
    """Write TensorBoard event files for a run recorded earlier (or by a version without them), from its
    config.json, metrics.csv, quality.csv, events.jsonl and saved grids: one new event file that replaces
    whatever earlier event files of the run show (it purges from step 0). The run must not be training: its lock
    is taken while writing. Returns what was written: {"rows", "quality", "grids", "events"}."""
    from pathlib import Path

    from PIL import Image

    from gan_core.files import MAX_CONFIG_BYTES, read_bytes, read_json
    from gan_core.runs.lock import acquire_run_lock, release_run_lock
    from gan_core.runs.metrics import read_metrics
    from gan_core.runs.paths import MAX_GRID_BYTES, read_events, sample_grids

    if not available():
        raise ValueError("export-tensorboard needs the tensorboard package: pip install tensorboard")
    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise ValueError(f"{str(paths.root)!r} is not a run directory: it has no config.json")
    acquire_run_lock(paths.root)  # RunLockedError (a ValueError) naming the owner while it trains
    try:
        config = read_json(paths.config, MAX_CONFIG_BYTES)
        metrics, quality = read_metrics(paths.metrics), read_metrics(paths.quality)
        events = read_events(paths.events)
        log = TensorBoardLog(paths)
        log.purge_from(0)
        counts = {"rows": 0, "quality": 0, "grids": 0, "events": 0}
        try:
            log.config(config if isinstance(config, dict) else {}, float(events[0]["time"]) if events else 0.0)
            for row in metrics.to_dict("records"):
                log.row(row)
                counts["rows"] += 1
            for row in quality.to_dict("records"):
                log.quality(int(row["step"]), row, 0.0)
                counts["quality"] += 1
            for step, path in sample_grids(paths):
                with Image.open(io.BytesIO(read_bytes(path, MAX_GRID_BYTES))) as image:
                    if image.width * image.height > MAX_GRID_PIXELS:  # the header, before decoding a bomb
                        continue
                    grid = np.asarray(image.convert("L" if image.mode in ("L", "1", "P") else "RGB"))
                log.grid(step, grid, 0.0)
                counts["grids"] += 1
            for event in events:
                if event.get("kind") in EVENT_TAGS:
                    log.event(event)
                    counts["events"] += 1
        finally:
            log.close()
    finally:
        release_run_lock(paths.root)
    return counts
