"""TrainingSession: a thread-safe controller running one Trainer in a background daemon thread.

Threading contract: every public method is safe from any thread and returns quickly. The
training thread alone steps the Trainer and drives the run's RunRecorder, which alone writes the run
directory; other threads only set requests under `_cond` (a Condition) and read copies through
snapshot(). Weights are touched under `_model_lock`, held for one step at a time, so generator()
never sees a half-updated net.
"""

from __future__ import annotations

import atexit
import copy
import threading
import time
import weakref
from collections import deque
from pathlib import Path
from typing import Any, Callable

import numpy as np
from torch import nn

from gan_core.columns import METRIC_NAMES
from gan_core.config import RunConfig, with_live_changes
from gan_core.data.datasets import ImageDataset
from gan_core.views.point_plot import samples_image
from gan_core.runtime.priority import start_thread
from gan_core.record.recorder import RunRecorder
from gan_core.runs.paths import RunPaths, read_events
from gan_core.runs.listing import DEFAULT_RUNS_ROOT
from gan_core.runs.lock import release_run_lock
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.runtime.serial_torch import serial_torch
from gan_core.control.snapshot import Snapshot, images_per_step, quality_from_csv, rows_from_csv
from gan_core.runtime.threads import ThreadPolicy
from gan_core.engine.trainer import STEP_UPDATES, Trainer

__all__ = ["ACTIVE", "STATUSES", "Snapshot", "TrainingSession"]

STATUSES = ("idle", "running", "paused", "stopping", "finished", "failed")
ACTIVE = ("running", "paused", "stopping")
LIVE_GRID_INTERVAL_S = 1.0  # refresh the in-memory sample grid at most this often
RATE_WINDOW_S = 10.0  # steps/s and images/s are measured over the last this many seconds of wall time


class TrainingSession:
    """Start, pause, step, resume, stop and live-tune one training run in a daemon thread."""

    def __init__(self, runs_root: str | Path = DEFAULT_RUNS_ROOT) -> None:
        self.runs_root = Path(runs_root)
        self._cond = threading.Condition()
        self._model_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._trainer: Trainer | None = None
        self._recorder: RunRecorder | None = None
        self._status = "idle"
        self._rows: list[tuple[float, ...]] = []
        self._rows_generation = 0  # bumped when rows are cut back, so old cursors restart
        self._events: list[dict[str, Any]] = []
        self._grid: np.ndarray | None = None
        self._grid_step = -1
        self._error: str | None = None
        self._pause_requested = False
        self._stop_requested = False
        self._checkpoint_requested = False
        self._step_budget = 0
        self._step_update = "both"  # which networks the pending steps update
        self._pending_updates: list[dict[str, Any]] = []
        self._diverged = False
        self._generator_copy: tuple[int, nn.Module] | None = None
        self._activity: str | None = None
        self._marks: deque[tuple[float, int]] = deque()  # (monotonic time, step) over the rate window
        self._launched_at = 0.0
        self._train_s_at_launch = 0.0
        self._quality: list[dict[str, Any]] = []
        self._starting = False  # a start or resume has claimed the session and is loading data
        # atexit holds only a weak reference, so a session can still be garbage collected.
        reference = weakref.ref(self)
        atexit.register(lambda: (session := reference()) is not None and session.shutdown())

    # ---- control, from any thread -------------------------------------------------------

    def start(self, config: RunConfig, run_dir: str | Path | None = None, paused: bool = False,
              dataset: ImageDataset | None = None) -> Path:
        """Start a new run (loads data and builds models here, so errors reach the caller); returns its run dir.

        Of racing calls exactly one wins: it reserves the session under the lock before creating
        anything, so the others are refused without leaving a run directory behind.
        """
        self._reserve()
        try:
            with serial_torch():  # the caller's thread keeps no OpenMP pool beside training's (serial_torch.py)
                trainer = Trainer(config, dataset)  # a dataset already loaded for config.data saves seconds
            paths = create_run_dir(config, self.runs_root, run_dir)  # owns it (owner.lock) from here
        except BaseException:
            self._unreserve()
            raise
        self._launch(trainer, paths, "start", paused)
        return paths.root

    def resume_run(self, run_dir: str | Path, paused: bool = False) -> Path:
        """Continue a run from its checkpoints/latest.pt in a new thread; returns its run dir.

        ValueError (RunLockedError) naming the owner when another process is writing that run.
        """
        self._reserve()
        try:
            with serial_torch():
                trainer, paths = open_run_for_resume(run_dir)  # takes the run's lock before touching it
        except BaseException:
            self._unreserve()
            raise
        self._launch(trainer, paths, "resume", paused)
        return paths.root

    def pause(self) -> None:
        """Ask the thread to pause before its next step (takes effect within one step)."""
        with self._cond:
            if self._status in ("running", "paused"):
                self._pause_requested = True
                self._step_budget = 0
                self._cond.notify_all()

    def resume(self) -> None:
        """Continue a paused run (after a non-finite loss, from the last good checkpoint)."""
        with self._cond:
            if self._status in ("running", "paused"):
                self._pause_requested = False
                self._cond.notify_all()

    def step(self, n: int = 1, update: str = "both") -> None:
        """While paused, train exactly n more steps, then stay paused.

        update: "both" networks (a whole iteration), or only "discriminator" or "generator" (STEP_UPDATES).
        """
        if not (isinstance(n, int) and 1 <= n <= 100000):
            raise ValueError(f"n={n!r} is invalid: allowed an integer from 1 to 100000")
        if update not in STEP_UPDATES:
            raise ValueError(f"update={update!r} is invalid: allowed {', '.join(STEP_UPDATES)}")
        with self._cond:
            if self._status != "paused":
                raise RuntimeError(f"step() needs a paused run; the run is {self._status}")
            if self._step_budget and update != self._step_update:
                raise RuntimeError(f"{self._step_budget} {self._step_update} steps are still pending: "
                                   "wait for them before asking for other steps")
            self._step_update = update
            self._step_budget += n
            self._cond.notify_all()

    def stop(self) -> None:
        """End the run after the current step and write a checkpoint; calling it again does nothing."""
        with self._cond:
            if self._status in ("running", "paused"):
                self._stop_requested = True
                self._status = "stopping"
                self._cond.notify_all()

    def update(self, **changes: Any) -> None:
        """Change live hyperparameters (LIVE_FIELDS); validated now, applied before the next step."""
        with self._cond:
            if self._trainer is None or self._status not in ("running", "paused"):
                raise RuntimeError(f"update() needs a running or paused run; the run is {self._status}")
            # Validate against the config as it will be once earlier pending changes land.
            config = self._trainer.config
            for pending in self._pending_updates + [changes]:
                config = with_live_changes(config, pending)
            self._pending_updates.append(dict(changes))
            self._cond.notify_all()

    def save_checkpoint(self) -> None:
        """Ask the thread to write a checkpoint now (also while paused)."""
        with self._cond:
            if self._status in ("running", "paused") and not self._diverged:
                self._checkpoint_requested = True
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[["TrainingSession"], bool], timeout: float) -> bool:
        """Block until predicate(session) holds (checked on every state change) or timeout; for tests and tools."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout=timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop any active run, wait for its checkpoint, join the thread (registered with atexit)."""
        self.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---- reading, from any thread -------------------------------------------------------

    @property
    def status(self) -> str:
        """idle, running, paused, stopping, finished or failed."""
        return self._status

    def snapshot(self, since: tuple[int, int] | int | None = 0) -> Snapshot:
        """A copy of the state, with the metric rows added since cursor `since` (None: no rows) and the new cursor.

        The cursor is (generation, row count). When rows were cut back since it was issued
        (a restore after a non-finite loss, a new run) `reset` is True and rows start at step 1.
        """
        with self._cond:
            count = len(self._rows)
            generation, seen = since if isinstance(since, tuple) else (
                self._rows_generation, count if since is None else since)
            reset = generation != self._rows_generation or seen > count
            start = 0 if reset else max(0, seen)
            trainer = self._trainer
            steps_per_s = self._steps_per_s()
            per_step = images_per_step(trainer.config) if trainer else 0
            return Snapshot(
                status=self._status,
                step=trainer.step_count if trainer else 0,
                epoch=trainer.epoch if trainer else 0,
                elapsed_s=(time.monotonic() - self._launched_at) if trainer else 0.0,
                images_per_s=None if steps_per_s is None else steps_per_s * per_step,
                columns=METRIC_NAMES,
                rows=tuple(self._rows[start:count]),
                cursor=(self._rows_generation, count),
                reset=reset,
                grid=self._grid,
                grid_step=self._grid_step,
                events=tuple(self._events),
                error=self._error,
                run_dir=str(self._recorder.paths.root) if self._recorder else None,
                config=trainer.config if trainer else None,
                steps_pending=self._step_budget,
                diverged=self._diverged,
                last_checkpoint_step=self._recorder.last_checkpoint_step if self._recorder else -1,
                steps_per_s=steps_per_s,
                train_s=(trainer.time_s - self._train_s_at_launch) if trainer else 0.0,
                activity=self._current_activity(),
                quality=tuple(self._quality),
                quality_reference=self._recorder.quality.reference
                if self._recorder and self._recorder.quality else None,
            )

    def _steps_per_s(self) -> float | None:
        """Steps over the wall time since the oldest mark in the window, up to now (a stall lowers it)."""
        if self._status != "running" or len(self._marks) < 2:
            return None
        first_time, first_step = self._marks[0]
        span = time.monotonic() - first_time
        return (self._marks[-1][1] - first_step) / span if span >= 0.5 else None

    def _current_activity(self) -> str | None:
        if self._activity is not None:
            return self._activity
        quality = self._recorder.quality if self._recorder else None
        if quality is not None and quality.preparing:
            return ("training the quality classifier in a background process (once per data set on this "
                    "machine); quality scores start when it is ready")
        return None

    def generator(self) -> nn.Module | None:
        """An eval-mode copy of the current generator (EMA weights when on), taken under the lock."""
        trainer = self._trainer
        if trainer is None:
            return None
        with self._model_lock:
            cached = self._generator_copy
            if cached is not None and cached[0] == trainer.step_count:
                return cached[1]
            model = copy.deepcopy(trainer.sampling_generator()).eval().requires_grad_(False)
            self._generator_copy = (trainer.step_count, model)
            return model

    def discriminator(self) -> nn.Module | None:
        """An eval-mode copy of the current discriminator, taken under the lock (the playground draws its surface)."""
        trainer = self._trainer
        if trainer is None:
            return None
        with self._model_lock:
            return copy.deepcopy(trainer.discriminator).eval().requires_grad_(False)

    # ---- the training thread ------------------------------------------------------------

    def _refuse_if_active(self) -> None:
        if self._starting:
            raise RuntimeError("a run is already being started: stop it before starting another")
        if self._status in ACTIVE:
            raise RuntimeError(f"a run is already {self._status} in {self._recorder.paths.root}: "
                               "stop it before starting another")

    def _reserve(self) -> None:
        """Claim the session for one start or resume (RuntimeError if active or claimed)."""
        with self._cond:
            self._refuse_if_active()
            self._starting = True

    def _unreserve(self) -> None:
        with self._cond:
            self._starting = False
            self._cond.notify_all()

    def _launch(self, trainer: Trainer, paths: RunPaths, kind: str, paused: bool) -> None:
        """Install the reserved run and start its thread; on failure the run's lock is released."""
        resumed = kind == "resume"
        try:
            rows = rows_from_csv(paths) if resumed else []
            # A resumed run keeps its earlier events (chart markers) and quality rows, up to its step.
            events = [e for e in read_events(paths.events) if e.get("step", 0) <= trainer.step_count] \
                if resumed else []
            quality = quality_from_csv(paths, trainer.step_count) if resumed else []
            recorder = RunRecorder(trainer, paths, background_evaluation=True, on_activity=self._set_activity)
        except BaseException:
            release_run_lock(paths.root)
            self._unreserve()
            raise
        with self._cond:
            self._starting = False
            self._trainer = trainer
            self._recorder = recorder
            self._rows, self._events, self._quality = rows, events, quality
            self._rows_generation += 1
            self._error, self._diverged, self._activity = None, False, None
            self._marks.clear()
            self._launched_at, self._train_s_at_launch = time.monotonic(), trainer.time_s
            self._grid, self._grid_step, self._generator_copy = None, -1, None
            self._pause_requested, self._stop_requested = paused, False
            self._checkpoint_requested, self._step_budget, self._pending_updates = False, 0, []
            self._status = "paused" if paused else "running"
            self._log(kind, config=trainer.config.to_dict() if kind == "start" else None)
            self._thread = threading.Thread(target=self._run, name="gan-training", daemon=True)
            start_thread(self._thread)  # at the process's starting priority (gan_core/runtime/priority.py)

    def _log(self, kind: str, **fields: Any) -> None:
        """Write an event and copy every event written so far into memory (caller holds _cond)."""
        self._recorder.log(kind, **fields)
        self._take_events()

    def _take_events(self) -> None:
        """Copy the recorder's newly written events (checkpoints too) into the snapshot's list (under _cond)."""
        self._events.extend(self._recorder.take_events())

    def _set_activity(self, activity: str | None) -> None:
        """Called by the recorder, in the training thread, around checkpoints and evaluations."""
        with self._cond:
            self._activity = activity
            self._cond.notify_all()

    def _run(self) -> None:
        trainer, recorder = self._trainer, self._recorder
        last_grid_time = 0.0
        last_quality = None
        threads = ThreadPolicy(max_threads=trainer.max_threads)  # made here: torch's thread count is per calling thread
        try:
            while True:
                with self._cond:
                    if not self._wait_for_work():
                        break
                    stepping = self._pause_requested
                    update = self._step_update if stepping else "both"
                with self._model_lock:
                    row = trainer.step(update)
                change = threads.tick()
                if change is not None:
                    recorder.log("threads", threads=change.threads, message=change.message())
                finite = recorder.record(row)  # False (and a nonfinite event) for a non-finite loss
                now = time.monotonic()
                grid = None
                if finite and recorder.last_grid is not None and recorder.last_grid[0] == trainer.step_count:
                    grid = recorder.last_grid[1]  # the grid just saved to samples/: no second pass
                elif finite and now - last_grid_time >= LIVE_GRID_INTERVAL_S:
                    with self._model_lock:
                        grid = samples_image(trainer.sample_fixed(), trainer.images, trainer.grid_columns)
                if grid is not None:
                    grid.flags.writeable = False
                    last_grid_time = now
                quality = recorder.quality.last_row if recorder.quality is not None else None
                with self._cond:
                    self._take_events()
                    self._rows.append(tuple(float(row[name]) for name in METRIC_NAMES))
                    self._marks.append((now, trainer.step_count))
                    while len(self._marks) > 2 and now - self._marks[1][0] >= RATE_WINDOW_S:
                        self._marks.popleft()
                    if quality is not last_quality and quality is not None:
                        self._quality.append(quality)
                        last_quality = quality
                    if grid is not None:
                        self._grid, self._grid_step = grid, trainer.step_count
                    if stepping and self._step_budget > 0:
                        self._step_budget -= 1
                    if not finite:
                        self._diverged = True
                        self._pause_requested, self._step_budget = True, 0
                    self._cond.notify_all()
            # A last grid and checkpoint (none from non-finite weights), the stop event; releases the lock.
            recorder.finish("stop")
            with self._cond:
                self._take_events()
                self._status = "finished"
                self._cond.notify_all()
        except Exception as error:  # never kill the process: report and keep what can be kept
            with self._cond:
                self._error = f"{type(error).__name__}: {error}"
                self._status = "failed"
                recorder.finish("failed", message=self._error)  # releases the lock; never raises OSError
                self._take_events()
                self._cond.notify_all()

    def _wait_for_work(self) -> bool:
        """Under _cond: apply requests; sleep while paused. True to take a step, False to finish."""
        while True:
            self._apply_requests()
            if self._stop_requested:
                return False
            if self._pause_requested and self._step_budget == 0:
                if self._status != "paused":
                    self._marks.clear()  # the rate restarts after the pause
                    self._status = "paused"
                    self._log("pause")
                    self._cond.notify_all()
                self._cond.wait()
                continue
            if self._diverged:  # resume or step after a non-finite loss: from the last good state
                self._restore_last_good()
            if self._status == "paused" and not self._pause_requested:
                self._status = "running"
                self._log("resume")
                self._cond.notify_all()
            return True

    def _apply_requests(self) -> None:
        trainer = self._trainer
        while self._pending_updates:
            changes = self._pending_updates.pop(0)
            old = trainer.update_hyperparameters(**changes)
            self._log("update", changes=changes, old=old)
            self._generator_copy = None
        if self._checkpoint_requested:
            self._checkpoint_requested = False
            self._recorder.save_checkpoint(manual=True)  # kept apart: it never pushes out an automatic one
            self._take_events()
            self._cond.notify_all()  # waiters on last_checkpoint_step (the thread may sleep paused next)

    def _restore_last_good(self) -> None:
        """After a non-finite loss: the recorder restores the last good state; rows are cut back to its step."""
        step = self._recorder.restore_last_good(self._model_lock)
        del self._rows[step:]
        self._quality = [row for row in self._quality if row.get("step", 0) <= step]  # quality.csv is cut too
        self._rows_generation += 1
        self._diverged, self._generator_copy = False, None
        self._take_events()
