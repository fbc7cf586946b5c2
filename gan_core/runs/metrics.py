"""Per-step metrics: appended to metrics.csv (flushed at least every second) and read back tolerantly."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from pathlib import Path
from typing import Iterable

import pandas as pd

from gan_core.columns import METRIC_NAMES
from gan_core.files import MAX_METRICS_BYTES, UnreadableFile, open_append, read_text, write_atomic

FLUSH_INTERVAL_S = 0.5


class MetricsWriter:
    """Appends metric rows to a CSV file, writing the header once and flushing at least every second."""

    def __init__(self, path: str | os.PathLike, columns: Iterable[str] = METRIC_NAMES) -> None:
        self.path = Path(path)
        self.columns = tuple(columns)
        try:
            migrate_header(self.path, self.columns)  # a run from an older version: rows keep their values
        except FileNotFoundError:
            pass
        # Never through a link, into a FIFO or a file with another name elsewhere (safe_io.open_append).
        self._file = open_append(self.path, newline="")
        self._last_flush = time.monotonic()
        if os.fstat(self._file.fileno()).st_size == 0:
            self._file.write(",".join(self.columns) + "\n")
            self.flush()

    def append(self, row: dict[str, float]) -> None:
        """Write one row (missing columns stay empty); flushes when the last flush is 0.5 s old."""
        self._file.write(",".join(_format(row.get(name)) for name in self.columns) + "\n")
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Push buffered rows to the OS so readers (the dashboard, another process) see them."""
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if not self._file.closed:
            self._file.flush()
            self._file.close()


def _format(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return repr(float(value)) if math.isfinite(value) else str(float(value))


def _complete_text(path: Path) -> str:
    """The file's text up to its last newline: a row half-written by a crash is left out.

    Only a regular file of at most MAX_METRICS_BYTES is read (UnreadableFile otherwise): a FIFO
    named metrics.csv would block a reader forever.
    """
    text = read_text(path, MAX_METRICS_BYTES, strict=False)
    end = text.rfind("\n")
    return text[: end + 1] if end >= 0 else ""


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """metrics.csv as a DataFrame; a partial or malformed last line from a crash is ignored.

    A missing file is an empty frame; one that is not a regular file or is too large raises
    UnreadableFile (a ValueError) naming the problem.
    """
    path = Path(path)
    try:
        text = _complete_text(path)
    except FileNotFoundError:
        return pd.DataFrame(columns=list(METRIC_NAMES))
    if not text.strip():
        return pd.DataFrame(columns=list(METRIC_NAMES))
    try:
        rows = list(csv.reader(io.StringIO(text)))
        header, body = rows[0], [row for row in rows[1:] if len(row) == len(rows[0])]
        if len(set(header)) != len(header):
            raise ValueError("its header repeats a column name")
        frame = pd.DataFrame(body, columns=header)
        frame = frame.apply(pd.to_numeric, errors="coerce")
        if "step" in frame:
            frame = frame.dropna(subset=["step"])
            frame["step"] = frame["step"].astype("int64")
    except (csv.Error, ValueError, OverflowError, TypeError, IndexError) as error:
        raise UnreadableFile(f"{path.name} does not parse as a metrics table: {str(error)[:200]}") from None
    return frame.reset_index(drop=True)


def migrate_header(path: str | os.PathLike, columns: tuple[str, ...]) -> bool:
    """Rewrite a CSV written under another header so its header is `columns` (values kept by name, new
    columns empty, dropped ones gone), atomically; True when it changed. Appends then line up again."""
    path = Path(path)
    lines = _complete_text(path).splitlines()
    if not lines or lines[0].split(",") == list(columns):
        return False
    old = lines[0].split(",")
    width = len(old)
    body = []
    for line in lines[1:]:
        fields = line.split(",")
        if len(fields) == width:  # a malformed line is dropped, as read_metrics does
            by_name = dict(zip(old, fields))
            body.append(",".join(by_name.get(name, "") for name in columns) + "\n")
    write_atomic(path, ",".join(columns) + "\n" + "".join(body))
    return True


def cut_table(path: str | os.PathLike, last_step: int) -> str | None:
    """A per-step CSV's text without the rows after last_step, malformed rows and a partial last line; None
    when the file is missing or empty. UnreadableFile for a link, a FIFO or a table without a step column."""
    path = Path(path)
    try:
        lines = _complete_text(path).splitlines(keepends=True)
    except FileNotFoundError:
        return None
    if not lines:
        return None
    header, kept = lines[0], []
    names = header.rstrip("\n").split(",")
    if "step" not in names:
        raise UnreadableFile(f"{path.name} has no step column: it is not a per-step table of ours")
    width, step_index = len(names), names.index("step")
    for line in lines[1:]:
        fields = line.rstrip("\n").split(",")
        if len(fields) != width:
            continue
        try:
            step = int(fields[step_index])
        except ValueError:
            continue
        if step <= last_step:
            kept.append(line)
    return header + "".join(kept)
