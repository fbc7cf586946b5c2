"""A/B experiments: two runs that differ in one config field, with the same data and seed, trained side by side.

Each run is an ordinary run directory (config.json, metrics.csv, samples, checkpoints, events), labelled in
run_meta.json (tag "ab", display name "A: loss.loss=minimax") so the Runs view lists and compares them.
One daemon thread alternates one step of A and one of B: both see the same machine load, so their wall-time
axes compare, and a stop leaves them within one step of each other. Torch-heavy modules are imported
inside functions, so the CLI's parser (gan_core/cli/ab.py registers `ab`) stays quick to build. models(side)
hands a page eval-mode copies of one side's G and D, taken between steps under `_model_lock`.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_core.config.schema import RunConfig, resolve_field
from gan_core.control.controller import Controller, ModelCopies
from gan_core.control.loop import Callbacks, LoopRun, Work, raise_write_error, run_loop
from gan_core.control.mirror import RunMirror
from gan_core.control.snapshot import Snapshot, mirror_snapshot
from gan_core.runs.admin import update_meta
from gan_core.runs.listing import DEFAULT_RUNS_ROOT
from gan_core.views.point_plot import samples_image

if TYPE_CHECKING:
    from gan_core.engine.trainer import Trainer
    from gan_core.record.recorder import RunRecorder

AB_STATUSES = ("idle", "running", "finished", "failed", "stopped")
AB_TAG = "ab"
LABELS = ("A", "B")


def dotted_field(field: str) -> str:
    """A field's full dotted name ('lr_g' -> 'optimizer.lr_g'); ValueError naming an unknown field."""
    section, name = resolve_field(field)
    return f"{section}.{name}" if section else name


def ab_configs(config: RunConfig, field: str, value_a: Any, value_b: Any) -> tuple[RunConfig, RunConfig]:
    """config with `field` set to value_a and to value_b; ValueError naming the field when the values are
    equal, the field is unknown or a value is invalid. Everything else, the name included, stays the same."""
    name = dotted_field(field)
    config_a = config.with_changes({name: value_a})
    config_b = config.with_changes({name: value_b})
    # Compared as written to config.json, so 1e-3 and 0.001 (or a list and a tuple of points) are equal.
    if value_a == value_b or config_a.to_dict() == config_b.to_dict():
        raise ValueError(f"{name}={value_a!r} in both runs: an A/B experiment needs two different values")
    return config_a, config_b


def describe_value(value: Any) -> str:
    """A value as a person types it: minimax, 0.001, true."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else repr(value)


@dataclass(frozen=True)
class ABProgress:
    """A copy of an A/B experiment's state; index 0 of each pair is run A, index 1 run B."""

    status: str = "idle"
    """idle, running, finished (both ended by themselves), failed (an error ended both) or stopped."""
    field: str = ""
    """The dotted config field the two runs differ in."""
    values: tuple[Any, Any] = (None, None)
    """The field's value in A and in B."""
    steps: int = 0
    """The step count each run trains to."""
    step: tuple[int, int] = (0, 0)
    """Steps each run has trained."""
    run_dirs: tuple[str | None, str | None] = (None, None)
    """The two run directories."""
    ended: tuple[str | None, str | None] = (None, None)
    """How each run ended (finish, stop, nonfinite, failed); None while it trains."""
    last_rows: tuple[dict[str, float] | None, dict[str, float] | None] = (None, None)
    """Each run's last metrics row (a copy), None before its first step."""
    error: str | None = None
    """What ended the experiment when status is failed."""
    configs: tuple[RunConfig | None, RunConfig | None] = (None, None)
    """Each run's config as it started (a page draws A's and B's views with their own loss and latent size)."""


@dataclass
class _Side:
    """One run of the pair, owned by the training thread once launched; its mirror is read under _cond."""

    trainer: "Trainer"
    recorder: "RunRecorder"
    mirror: RunMirror = dataclasses.field(default_factory=RunMirror)


class ABRunner(Controller):
    """Trains an A/B pair in one daemon thread; every public method is thread-safe and returns quickly
    (start() loads the data and builds both models before returning, so its errors reach the caller)."""

    def __init__(self) -> None:
        super().__init__()
        self._progress = ABProgress()
        self._starting = False
        self._sides: list[_Side] = []  # the latest experiment's, kept after it ends so its last models show
        self._turn = 0  # the side that steps next (A and B alternate)

    def start(self, config: RunConfig, field: str, value_a: Any, value_b: Any, steps: int,
              runs_root: str | Path = DEFAULT_RUNS_ROOT) -> tuple[Path, Path]:
        """Create runs A and B (config with field=value_a, =value_b) and train each to `steps`; returns their
        directories. ValueError naming the problem; RuntimeError while another experiment is running."""
        if not (isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1):
            raise ValueError(f"steps={steps!r} is invalid: allowed an integer >= 1")
        configs = ab_configs(config, field, value_a, value_b)
        name = dotted_field(field)
        with self._cond:
            if self._starting or self._progress.status == "running":
                raise RuntimeError("an A/B experiment is already running: stop it before starting another")
            self._starting = True
        try:
            sides = _open_pair(configs, Path(runs_root), name, (value_a, value_b))
        except BaseException:
            with self._cond:
                self._starting = False
            raise
        with self._cond:
            self._starting, self._stop_requested, self._turn = False, False, 0
            for side in sides:
                side.mirror.events.extend(side.recorder.take_events())
            self._progress = ABProgress(status="running", field=name, values=(value_a, value_b), steps=steps,
                                        run_dirs=tuple(str(s.recorder.paths.root) for s in sides),
                                        configs=configs)
            self._sides = sides
            self._launch_thread(self._run, "gan-ab", sides, steps)
        return sides[0].recorder.paths.root, sides[1].recorder.paths.root

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the experiment is not running (or timeout); True when it is not."""
        with self._cond:
            return self._cond.wait_for(lambda: self._progress.status != "running", timeout=timeout)

    def progress(self) -> ABProgress:
        """The current state (an immutable copy)."""
        with self._cond:
            return self._progress

    def snapshot(self, side: int, since: tuple[int, int] | int | None = None) -> Snapshot | None:
        """Run A's (side 0) or B's (side 1) state as a Snapshot, with its rows since cursor `since` (see
        TrainingSession.snapshot); None before any start."""
        _check_side(side)
        with self._cond:
            if not self._sides:
                return None
            status = self._progress.status
            ended = self._progress.ended[side]
            run = self._sides[side]
            return mirror_snapshot(run.mirror, run.trainer, run.recorder, since,
                                   status="running" if status == "running" and ended is None else "finished")

    def models(self, side: int) -> ModelCopies | None:
        """Eval-mode copies of run A's (side 0) or B's (side 1) G and D between steps; None before any start."""
        _check_side(side)
        with self._cond:
            sides = self._sides
        return self._model_copies(sides[side].trainer) if sides else None

    # ---- the training thread ------------------------------------------------------------

    def _publish(self, index: int, side: _Side, row: dict[str, float] | None = None, grid=None) -> None:
        """Copy one side's step, last row and end into the progress snapshot and its mirror."""
        quality = side.recorder.quality.last_row if side.recorder.quality is not None else None
        with self._cond:
            progress = self._progress
            step, ended, rows = list(progress.step), list(progress.ended), list(progress.last_rows)
            step[index], ended[index] = side.trainer.step_count, side.recorder.finished
            side.mirror.events.extend(side.recorder.take_events())
            if row is not None:
                rows[index] = dict(row)
                side.mirror.add_step(row, time.monotonic(), grid, quality)
            self._progress = dataclasses.replace(progress, step=tuple(step), ended=tuple(ended),
                                                 last_rows=tuple(rows))
            self._cond.notify_all()

    def _next_work(self, sides: list[_Side]) -> Work | None:
        """Alternate A and B, skipping a run that has ended; None once both ended or a stop was asked."""
        with self._cond:
            if self._stop_requested:
                return None
            for offset in range(len(sides)):
                index = (self._turn + offset) % len(sides)
                if sides[index].recorder.finished is None:
                    self._turn = index + 1
                    return Work(index=index)
            return None

    def _after_step(self, sides: list[_Side], steps: int, index: int, row: dict[str, float], finite: bool) -> None:
        side = sides[index]
        if not finite:  # a non-finite loss ends this run only
            side.recorder.finish("nonfinite")
        elif side.trainer.step_count >= steps:
            side.recorder.finish("finish")  # a last grid and checkpoint; releases the lock
        grid = None
        now = time.monotonic()
        last = side.recorder.last_grid
        if finite and last is not None and last[0] == side.trainer.step_count:
            grid = last[1]
        elif finite and side.mirror.grid_due(now):
            with self._model_lock:
                grid = samples_image(side.trainer.sample_fixed(), side.trainer.images, side.trainer.grid_columns)
        self._publish(index, side, row, grid)

    def _run(self, sides: list[_Side], steps: int) -> None:
        try:
            driver = Callbacks(lambda: self._next_work(sides),
                               lambda index, row, finite: self._after_step(sides, steps, index, row, finite),
                               raise_write_error)
            run_loop([LoopRun(side.trainer, side.recorder) for side in sides], driver, self._model_lock)
            for index, side in enumerate(sides):  # after a stop, runs still training end with a checkpoint
                side.recorder.finish("stop")
                self._publish(index, side)
            stopped = any(side.recorder.finished == "stop" for side in sides)
            with self._cond:
                self._progress = dataclasses.replace(self._progress, status="stopped" if stopped else "finished")
                self._cond.notify_all()
        except Exception as error:  # never kill the process: both runs end as failed, the error is kept
            message = f"{type(error).__name__}: {error}"
            for side in sides:
                side.recorder.finish("failed", message=message)  # never raises OSError; ignored if ended
            with self._cond:
                for side in sides:
                    side.mirror.events.extend(side.recorder.take_events())
                self._progress = dataclasses.replace(
                    self._progress, status="failed", error=message,
                    ended=tuple(side.recorder.finished for side in sides),
                    step=tuple(side.trainer.step_count for side in sides))
                self._cond.notify_all()


def _check_side(side: int) -> None:
    if side not in (0, 1):
        raise ValueError(f"side={side!r} is invalid: allowed 0 (run A) or 1 (run B)")


def _open_pair(configs: tuple[RunConfig, RunConfig], runs_root: Path, field: str,
               values: tuple[Any, Any]) -> list[_Side]:
    """Data, trainers, run directories, recorders and run_meta.json for both runs; nothing left on failure."""
    from gan_core.data.datasets import load_dataset
    from gan_core.engine.trainer import Trainer
    from gan_core.record.opening import create_run_dir
    from gan_core.record.recorder import RunRecorder
    from gan_core.runs.lock import release_run_lock

    # One load serves both when the data settings agree (always, unless the chosen field is a data field).
    dataset_a = load_dataset(configs[0].data)
    dataset_b = dataset_a if configs[1].data == configs[0].data else load_dataset(configs[1].data)
    trainers = (Trainer(configs[0], dataset_a), Trainer(configs[1], dataset_b))  # before any folder
    roots = _pair_dirs(runs_root, configs[0].name)
    recorders: list[RunRecorder] = []
    try:
        for trainer, root in zip(trainers, roots):
            recorders.append(RunRecorder(trainer, create_run_dir(trainer.config, runs_root, root)))
        for index, (recorder, root) in enumerate(zip(recorders, roots)):
            other = roots[1 - index]
            update_meta(runs_root, root, display_name=f"{LABELS[index]}: {field}={describe_value(values[index])}",
                        tags=(AB_TAG,),
                        note=f"A/B experiment on {field}: A {describe_value(values[0])}, B "
                             f"{describe_value(values[1])}; same config, data and seed otherwise. "
                             f"Run {LABELS[1 - index]}: {other.name}")
            recorder.log("start", source="ab", ab_field=field, ab_value=values[index], ab_other=other.name)
    except BaseException:
        for recorder in recorders:
            recorder.close()
        for root in roots:  # folders this call made a moment ago, with nothing trained in them
            release_run_lock(root)
            shutil.rmtree(root, ignore_errors=True)
        raise
    return [_Side(trainer, recorder) for trainer, recorder in zip(trainers, recorders)]


def _pair_dirs(runs_root: Path, name: str) -> tuple[Path, Path]:
    """Claim runs_root/<yyyymmdd-hhmmss>-<name>[-n]-A and -B (empty, made here), side by side in listings."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    runs_root.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:  # mkdir without exist_ok: of two processes choosing the same names, one moves on
        base = f"{stamp}-{name}" + (f"-{suffix}" if suffix > 1 else "")
        suffix += 1
        root_a, root_b = runs_root / f"{base}-A", runs_root / f"{base}-B"
        try:
            root_a.mkdir()
        except FileExistsError:
            continue
        try:
            root_b.mkdir()
        except FileExistsError:
            root_a.rmdir()
            continue
        return root_a, root_b
