"""RunMirror: the in-memory copy of one training run that pages read (rows, events, quality rows, the live
grid, the step rate), filled by the thread that trains it. The TrainingSession keeps one, the A/B runner
two; both build Snapshots from it, so a page reads either the same way and never re-reads their files."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from gan_core.columns import METRIC_NAMES

RATE_WINDOW_S = 10.0  # steps/s and images/s are measured over the last this many seconds of wall time
LIVE_GRID_INTERVAL_S = 1.0  # refresh the in-memory sample grid at most this often


class RunMirror:
    """One run's rows, events, quality rows and live grid in memory; every method is called under the owning
    controller's lock (the mirror has none of its own)."""

    def __init__(self, rows: list[tuple[float, ...]] | None = None, events: list[dict[str, Any]] | None = None,
                 quality: list[dict[str, Any]] | None = None, generation: int = 0, train_s: float = 0.0) -> None:
        self.rows: list[tuple[float, ...]] = list(rows or [])
        self.generation = generation  # bumped when rows are cut back, so old cursors restart
        self.events: list[dict[str, Any]] = list(events or [])
        self.quality: list[dict[str, Any]] = list(quality or [])
        self.grid: np.ndarray | None = None
        self.grid_step = -1
        self.grid_time = 0.0  # monotonic time of the last live grid
        self.marks: deque[tuple[float, int]] = deque()  # (monotonic time, step) over the rate window
        self.launched_at = time.monotonic()
        self.train_s_at_launch = train_s
        self._last_quality: dict[str, Any] | None = None

    def add_step(self, row: dict[str, float], now: float, grid: np.ndarray | None,
                 quality: dict[str, Any] | None) -> None:
        """A trained step's row (METRIC_NAMES order), its rate mark, a new live grid and a new quality row."""
        self.rows.append(tuple(float(row[name]) for name in METRIC_NAMES))
        step = int(row["step"])
        self.marks.append((now, step))
        while len(self.marks) > 2 and now - self.marks[1][0] >= RATE_WINDOW_S:
            self.marks.popleft()
        if quality is not None and quality is not self._last_quality:
            self.quality.append(quality)
            self._last_quality = quality
        if grid is not None:
            grid.flags.writeable = False
            self.grid, self.grid_step, self.grid_time = grid, step, now

    def cut_back(self, step: int) -> None:
        """Rows after `step` are gone (a restore): drop them and restart every reader's cursor."""
        del self.rows[step:]
        self.quality = [row for row in self.quality if row.get("step", 0) <= step]
        self.generation += 1

    def rows_since(self, since: tuple[int, int] | int | None) -> tuple[tuple[tuple[float, ...], ...],
                                                                       tuple[int, int], bool]:
        """(rows added since cursor `since`, the new cursor, reset). None: no rows (only the new cursor);
        an int counts rows of the current generation; a cursor of another generation resets to row 0."""
        count = len(self.rows)
        if since is None:
            return (), (self.generation, count), False
        generation, seen = since if isinstance(since, tuple) else (self.generation, since)
        reset = generation != self.generation or seen > count
        start = 0 if reset else max(0, seen)
        return tuple(self.rows[start:count]), (self.generation, count), reset

    def steps_per_s(self, running: bool) -> float | None:
        """Steps over the wall time since the oldest mark in the window, up to now (a stall lowers it)."""
        if not running or len(self.marks) < 2:
            return None
        first_time, first_step = self.marks[0]
        span = time.monotonic() - first_time
        return (self.marks[-1][1] - first_step) / span if span >= 0.5 else None

    def grid_due(self, now: float) -> bool:
        """Whether the live grid is older than LIVE_GRID_INTERVAL_S."""
        return now - self.grid_time >= LIVE_GRID_INTERVAL_S
