"""A/B experiments: two runs that differ in one config field, with the same data and seed, trained side by side.

Each run is an ordinary run directory (config.json, metrics.csv, samples, checkpoints, events), labelled in
run_meta.json (tag "ab", display name "A: loss.loss=minimax") so the Runs view lists and compares them.
One daemon thread alternates one step of A and one of B: both see the same machine load, so their wall-time
axes compare, and a stop leaves them within one step of each other. Torch-heavy modules are imported
inside functions, so the CLI's parser (gan_core/cli/ab.py registers `ab`) stays quick to build. models(side)
hands a page eval-mode copies of one side's G and D, taken between steps under `_model_lock`.
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import shutil
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gan_core.config import RunConfig, resolve_field
from gan_core.runtime.priority import start_thread
from gan_core.runs.admin import update_meta
from gan_core.runs.listing import DEFAULT_RUNS_ROOT

if TYPE_CHECKING:
    from torch import nn

    from gan_core.record.recorder import RunRecorder
    from gan_core.engine.trainer import Trainer

__all__ = ["AB_STATUSES", "AB_TAG", "ABProgress", "ABRunner", "SideModels", "ab_configs"]

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

    @property
    def step_a(self) -> int:
        """Steps run A has trained."""
        return self.step[0]

    @property
    def step_b(self) -> int:
        """Steps run B has trained."""
        return self.step[1]

    @property
    def last_a(self) -> dict[str, float] | None:
        """Run A's last metrics row."""
        return self.last_rows[0]

    @property
    def last_b(self) -> dict[str, float] | None:
        """Run B's last metrics row."""
        return self.last_rows[1]


class SideModels(NamedTuple):
    """Eval-mode copies of one side's networks, detached from training, and the step they were taken at."""

    generator: "nn.Module"
    """G as sampled (the EMA weights when training.ema_decay is on), without gradients."""
    discriminator: "nn.Module"
    """D, without gradients."""
    step: int
    """Steps that side had trained when the copies were taken."""


@dataclass
class _Side:
    """One run of the pair, owned by the training thread once launched."""

    trainer: "Trainer"
    recorder: "RunRecorder"


class ABRunner:
    """Trains an A/B pair in one daemon thread; every public method is thread-safe and returns quickly
    (start() loads the data and builds both models before returning, so its errors reach the caller)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._progress = ABProgress()
        self._starting = False
        self._stop_requested = False
        self._thread: threading.Thread | None = None
        self._sides: list[_Side] = []  # the latest experiment's, kept after it ends so its last models show
        # Held by the training thread for one step at a time, so models() never copies a half-updated net.
        self._model_lock = threading.Lock()
        # atexit holds only a weak reference, so a runner can still be garbage collected.
        reference = weakref.ref(self)
        atexit.register(lambda: (runner := reference()) is not None and runner.shutdown())

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
            self._starting, self._stop_requested = False, False
            self._progress = ABProgress(status="running", field=name, values=(value_a, value_b), steps=steps,
                                        run_dirs=tuple(str(s.recorder.paths.root) for s in sides),
                                        configs=configs)
            self._sides = sides
            self._thread = threading.Thread(target=self._run, args=(sides, steps), name="gan-ab", daemon=True)
            start_thread(self._thread)  # at the process's starting priority (gan_core/runtime/priority.py)
        return sides[0].recorder.paths.root, sides[1].recorder.paths.root

    def stop(self) -> None:
        """End both runs after the current step, each with a last checkpoint; calling it again does nothing."""
        with self._cond:
            self._stop_requested = True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the experiment is not running (or timeout); True when it is not."""
        with self._cond:
            return self._cond.wait_for(lambda: self._progress.status != "running", timeout=timeout)

    def progress(self) -> ABProgress:
        """The current state (an immutable copy)."""
        with self._cond:
            return self._progress

    def models(self, side: int) -> SideModels | None:
        """Eval-mode copies of run A's (side 0) or B's (side 1) G and D between steps; None before any start."""
        if side not in (0, 1):
            raise ValueError(f"side={side!r} is invalid: allowed 0 (run A) or 1 (run B)")
        with self._cond:
            sides = self._sides
        if not sides:
            return None
        trainer = sides[side].trainer
        with self._model_lock:
            generator = copy.deepcopy(trainer.sampling_generator())
            discriminator = copy.deepcopy(trainer.discriminator)
            step = trainer.step_count
        return SideModels(generator.eval().requires_grad_(False), discriminator.eval().requires_grad_(False), step)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop a running experiment and wait for its checkpoints (registered with atexit)."""
        self.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # ---- the training thread ------------------------------------------------------------

    def _stopping(self) -> bool:
        with self._cond:
            return self._stop_requested

    def _publish(self, index: int, side: _Side, row: dict[str, float] | None = None) -> None:
        """Copy one side's step, last row and end into the progress snapshot."""
        with self._cond:
            progress = self._progress
            step, ended, rows = list(progress.step), list(progress.ended), list(progress.last_rows)
            step[index], ended[index] = side.trainer.step_count, side.recorder.finished
            if row is not None:
                rows[index] = dict(row)
            self._progress = dataclasses.replace(progress, step=tuple(step), ended=tuple(ended),
                                                 last_rows=tuple(rows))
            self._cond.notify_all()

    def _run(self, sides: list[_Side], steps: int) -> None:
        from gan_core.runtime.threads import ThreadPolicy

        threads = ThreadPolicy(max_threads=sides[0].trainer.max_threads)  # per calling thread: made here
        try:
            while not self._stopping():
                training = [(i, s) for i, s in enumerate(sides) if s.recorder.finished is None]
                if not training:
                    break
                for index, side in training:
                    if self._stopping():
                        break
                    with self._model_lock:
                        row = side.trainer.step()
                    change = threads.tick()
                    if change is not None:
                        for other in sides:
                            if other.recorder.finished is None:
                                other.recorder.log("threads", threads=change.threads, message=change.message())
                    if not side.recorder.record(row):  # a non-finite loss ends this run only
                        side.recorder.finish("nonfinite")
                    elif side.trainer.step_count >= steps:
                        side.recorder.finish("finish")  # a last grid and checkpoint; releases the lock
                    self._publish(index, side, row)
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
                self._progress = dataclasses.replace(
                    self._progress, status="failed", error=message,
                    ended=tuple(side.recorder.finished for side in sides),
                    step=tuple(side.trainer.step_count for side in sides))
                self._cond.notify_all()


def _open_pair(configs: tuple[RunConfig, RunConfig], runs_root: Path, field: str,
               values: tuple[Any, Any]) -> list[_Side]:
    """Data, trainers, run directories, recorders and run_meta.json for both runs; nothing left on failure."""
    from gan_core.data.datasets import load_dataset
    from gan_core.record.recorder import RunRecorder
    from gan_core.runs.lock import release_run_lock
    from gan_core.record.opening import create_run_dir
    from gan_core.engine.trainer import Trainer

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
