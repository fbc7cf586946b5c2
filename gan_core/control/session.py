"""TrainingSession: start, pause, step, resume, stop and live-tune one training run in a daemon thread.

Threading contract (control/controller.py): every public method is safe from any thread and returns
quickly. The training thread alone steps the Trainer (through control/loop.py's run loop) and drives the
run's RunRecorder, which alone writes the run directory; it does so outside `_cond`, so pause(), stop() and
snapshot() never wait behind a checkpoint or a restore. Other threads set requests and queue commands under
`_cond` and read copies through snapshot().
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from torch import nn

from gan_core.config.fields import with_live_changes
from gan_core.config.schema import RunConfig
from gan_core.control.controller import Controller
from gan_core.control.loop import Callbacks, LoopRun, Work, raise_write_error, run_loop
from gan_core.control.mirror import RunMirror
from gan_core.control.snapshot import Snapshot, mirror_snapshot, quality_from_csv, rows_from_csv
from gan_core.data.datasets import ImageDataset
from gan_core.engine.trainer import STEP_UPDATES, Trainer
from gan_core.files import describe_write_error, located, write_error
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.recorder import RunRecorder
from gan_core.runs.listing import DEFAULT_RUNS_ROOT
from gan_core.runs.lock import release_run_lock
from gan_core.runs.paths import RunPaths, read_events
from gan_core.runtime.serial_torch import serial_torch
from gan_core.views.point_plot import samples_image

STATUSES = ("idle", "running", "paused", "stopping", "finished", "failed")
ACTIVE = ("running", "paused", "stopping")
MAX_STEPS_PER_REQUEST = 100_000
MIN_SPEED_LIMIT, MAX_SPEED_LIMIT = 0.1, 10_000.0  # steps per second: slow motion to effectively unlimited


class TrainingSession(Controller):
    """Start, pause, step, resume, stop and live-tune one training run in a daemon thread."""

    def __init__(self, runs_root: str | Path = DEFAULT_RUNS_ROOT) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self._trainer: Trainer | None = None
        self._recorder: RunRecorder | None = None
        self._mirror = RunMirror()
        self._status = "idle"
        self._error: str | None = None
        self._pause_requested = False
        self._step_budget = 0
        self._step_update = "both"  # which networks the pending steps update
        self._stepping = False  # the step being trained was asked for by step()
        self._pending_updates: list[dict[str, Any]] = []  # queued live changes, to validate the next against
        self._diverged = False
        self._generator_copy: tuple[int, nn.Module] | None = None
        self._activity: str | None = None
        self._starting = False  # a start or resume has claimed the session and is loading data
        self._speed_limit: float | None = None  # steps per second at most (set_speed_limit); None: no limit
        self._last_step_started = 0.0

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
        if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_STEPS_PER_REQUEST):
            raise ValueError(f"n={n!r} is invalid: allowed an integer from 1 to {MAX_STEPS_PER_REQUEST}")
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

    def update(self, changes: dict[str, Any]) -> None:
        """Change live hyperparameters (config.LIVE_FIELDS, by dotted name); validated now, applied before
        the next step (also while paused). ValueError names a field that may not change or a bad value."""
        with self._cond:
            if self._trainer is None or self._status not in ("running", "paused"):
                raise RuntimeError(f"update() needs a running or paused run; the run is {self._status}")
            # Validate against the config as it will be once earlier queued changes land.
            config = self._trainer.config
            for pending in self._pending_updates + [changes]:
                config = with_live_changes(config, pending)
            self._pending_updates.append(dict(changes))
            self._submit("update", dict(changes))

    def save_checkpoint(self) -> None:
        """Ask the thread to write a checkpoint now (also while paused)."""
        with self._cond:
            if self._status in ("running", "paused") and not self._diverged:
                self._submit("checkpoint")

    def set_speed_limit(self, steps_per_s: float | None) -> None:
        """Train at most this many steps a second (a 2D run at 640 steps/s is too fast to watch; 0.5 is slow
        motion), or as fast as possible with None. Applies from the next step, also to Step while paused."""
        if steps_per_s is not None and not (isinstance(steps_per_s, (int, float)) and not isinstance(steps_per_s, bool)
                                            and MIN_SPEED_LIMIT <= steps_per_s <= MAX_SPEED_LIMIT):
            raise ValueError(f"steps_per_s={steps_per_s!r} is invalid: allowed None (no limit) or a number from "
                             f"{MIN_SPEED_LIMIT} to {MAX_SPEED_LIMIT}")
        with self._cond:
            self._speed_limit = None if steps_per_s is None else float(steps_per_s)
            self._cond.notify_all()

    @property
    def speed_limit(self) -> float | None:
        """The steps-per-second limit, or None (as fast as the machine goes)."""
        return self._speed_limit

    def _pace_wait(self) -> float:
        """Seconds until the next step is due under the speed limit (0 without one; caller holds _cond)."""
        if self._speed_limit is None:
            return 0.0
        return self._last_step_started + 1.0 / self._speed_limit - time.monotonic()

    def wait_for(self, predicate: Callable[["TrainingSession"], bool], timeout: float) -> bool:
        """Block until predicate(session) holds (checked on every state change) or timeout; for tests and tools."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout=timeout)

    # ---- reading, from any thread -------------------------------------------------------

    @property
    def status(self) -> str:
        """idle, running, paused, stopping, finished or failed."""
        return self._status

    def snapshot(self, since: tuple[int, int] | int | None = None) -> Snapshot:
        """A copy of the state with the metric rows added since cursor `since`, and the new cursor.

        The cursor is (generation, row count); None (the default) copies no rows, 0 every row. When rows
        were cut back since the cursor was issued (a restore, a new run) `reset` is True and rows restart
        at step 1.
        """
        with self._cond:
            return mirror_snapshot(self._mirror, self._trainer, self._recorder, since, self._status,
                                   error=self._error, steps_pending=self._step_budget, diverged=self._diverged,
                                   activity=self._current_activity())

    def _current_activity(self) -> str | None:
        if self._activity is not None:
            return self._activity
        quality = self._recorder.quality if self._recorder else None
        if quality is not None and quality.preparing:
            return ("training the quality classifier in a background process (once per data set on this "
                    "machine); quality scores start when it is ready")
        return None

    def generator(self) -> nn.Module | None:
        """An eval-mode copy of the current generator (EMA weights when on), cached per step."""
        trainer = self._trainer
        if trainer is None:
            return None
        cached = self._generator_copy
        if cached is not None and cached[0] == trainer.step_count:
            return cached[1]
        copies = self._model_copies(trainer, discriminator=False)
        self._generator_copy = (copies.step, copies.generator)
        return copies.generator

    def discriminator(self) -> nn.Module | None:
        """An eval-mode copy of the current discriminator (the playground draws its surface)."""
        trainer = self._trainer
        return None if trainer is None else self._model_copies(trainer).discriminator

    # ---- starting -----------------------------------------------------------------------

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
            recorder.log(kind, config=trainer.config.to_dict() if kind == "start" else None)
        except BaseException:
            release_run_lock(paths.root)
            self._unreserve()
            raise
        with self._cond:
            self._starting = False
            self._trainer, self._recorder = trainer, recorder
            self._mirror = RunMirror(rows, events + recorder.take_events(), quality,
                                     generation=self._mirror.generation + 1, train_s=trainer.time_s)
            self._error, self._diverged, self._activity, self._generator_copy = None, False, None, None
            self._pause_requested, self._stop_requested = paused, False
            self._step_budget, self._pending_updates, self._commands = 0, [], []
            self._status = "paused" if paused else "running"
            self._launch_thread(self._run, "gan-training")

    def _set_activity(self, activity: str | None) -> None:
        """Called by the recorder, in the training thread, around checkpoints and evaluations."""
        with self._cond:
            self._activity = activity
            self._cond.notify_all()

    # ---- the training thread ------------------------------------------------------------

    def _run(self) -> None:
        recorder = self._recorder
        driver = Callbacks(self._next_work, self._after_step, raise_write_error)
        try:
            run_loop([LoopRun(self._trainer, recorder)], driver, self._model_lock)
            # A last grid and checkpoint (none from non-finite weights), the stop event; releases the lock.
            recorder.finish("stop")
            with self._cond:
                self._publish_events()
                self._status = "finished"
                self._cond.notify_all()
        except Exception as error:  # never kill the process: report and keep what can be kept
            cause = write_error(error)  # a full disk: its cause and the folder, as the CLI says it
            message = (describe_write_error(located(cause, recorder.paths.root)) if cause is not None
                       else f"{type(error).__name__}: {error}")
            recorder.finish("failed", message=message)  # releases the lock; never raises OSError
            with self._cond:
                self._error, self._status = message, "failed"
                self._publish_events()
                self._cond.notify_all()

    def _publish_events(self) -> None:
        """Copy the recorder's newly written events into the mirror (caller holds _cond)."""
        self._mirror.events.extend(self._recorder.take_events())

    def _next_work(self) -> Work | None:
        """The loop's next step, or None to finish. Sleeps while paused; runs queued commands, pause and
        resume events and a restore between steps, outside _cond (they write files)."""
        while True:
            phase = None
            with self._cond:
                commands = self._take_commands()
                if not commands:
                    if self._stop_requested:
                        return None
                    if self._pause_requested and self._step_budget == 0:
                        if self._status == "paused":
                            self._cond.wait()
                            continue
                        self._status, phase = "paused", "pause"
                        self._mirror.marks.clear()  # the rate restarts after the pause
                    elif self._diverged:  # resume or step after a non-finite loss: from the last good state
                        phase = "restore"
                    elif self._status == "paused" and not self._pause_requested:
                        self._status, phase = "running", "resume"
                    elif (wait := self._pace_wait()) > 0:  # a speed limit: the next step is not due yet
                        self._cond.wait(wait)
                        continue
                    else:
                        self._stepping = self._pause_requested
                        self._last_step_started = time.monotonic()
                        return Work(update=self._step_update if self._stepping else "both")
                    self._cond.notify_all()
            for kind, payload in commands:
                self._run_command(kind, payload)
            if phase == "restore":
                self._restore_last_good()
            elif phase is not None:
                self._recorder.log(phase)
            with self._cond:
                self._publish_events()
                self._cond.notify_all()

    def _run_command(self, kind: str, payload: Any) -> None:
        """A queued command, in the training thread between steps."""
        if kind == "update":
            old = self._trainer.update_hyperparameters(payload)
            self._recorder.log("update", changes=payload, old=old)
            with self._cond:
                self._pending_updates.pop(0)
                self._generator_copy = None
        elif kind == "checkpoint" and not self._diverged:
            self._recorder.save_checkpoint(manual=True)  # kept apart: it never pushes out an automatic one

    def _restore_last_good(self) -> None:
        """After a non-finite loss: the recorder restores the last good state; rows are cut back to its step."""
        step = self._recorder.restore_last_good(self._model_lock)
        with self._cond:
            self._mirror.cut_back(step)
            self._diverged, self._generator_copy = False, None

    def _after_step(self, index: int, row: dict[str, float], finite: bool) -> None:
        """Publish a recorded step: its row, a live grid at most once a second, a new quality row."""
        trainer, recorder, mirror = self._trainer, self._recorder, self._mirror
        now = time.monotonic()
        grid = None
        if finite and recorder.last_grid is not None and recorder.last_grid[0] == trainer.step_count:
            grid = recorder.last_grid[1]  # the grid just saved to samples/: no second pass
        elif finite and mirror.grid_due(now):
            with self._model_lock:
                grid = samples_image(trainer.sample_fixed(), trainer.images, trainer.grid_columns)
        quality = recorder.quality.last_row if recorder.quality is not None else None
        with self._cond:
            self._publish_events()
            mirror.add_step(row, now, grid, quality)
            if self._stepping and self._step_budget > 0:
                self._step_budget -= 1
            if not finite:
                self._diverged = True
                self._pause_requested, self._step_budget = True, 0
            self._cond.notify_all()
