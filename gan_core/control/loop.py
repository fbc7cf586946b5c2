"""The one run loop: step a Trainer, fit torch's threads, record the row, tell the driver. The CLI, the
TrainingSession and the A/B runner each drive it with their own LoopDriver (when to step, what to do with a
row); none of them writes a loop of its own."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from gan_core.engine.trainer import Trainer
from gan_core.files import write_error
from gan_core.record.recorder import RunRecorder
from gan_core.runtime.threads import ThreadPolicy


@dataclass
class LoopRun:
    """One run the loop trains: its trainer and, on the process that writes it, its recorder."""

    trainer: Trainer
    recorder: RunRecorder | None
    """None on torchrun ranks other than 0 (they train but write nothing)."""

    def record(self, row: dict[str, float]) -> bool:
        """Record a step's row; False for a non-finite loss (the recorder writes its event)."""
        if self.recorder is not None:
            return self.recorder.record(row)
        return math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])

    @property
    def open(self) -> bool:
        """Whether the run still trains (its recorder has not finished it)."""
        return self.recorder is None or self.recorder.finished is None


@dataclass(frozen=True)
class Work:
    """What the driver asks the loop for next: one step of run `index`, updating `update` (STEP_UPDATES)."""

    index: int = 0
    update: str = "both"


class LoopDriver(Protocol):
    """How a caller drives the loop: it decides when to step and what a row means to it."""

    def next_work(self) -> Work | None:
        """Block until there is a step to take, or return None to end the loop."""

    def after_step(self, index: int, row: dict[str, float], finite: bool) -> None:
        """A step of run `index` was trained and recorded (finite False: a non-finite loss)."""

    def write_failed(self, index: int, error: OSError) -> None:
        """Recording run `index`'s step failed (a full disk, a folder made read-only); raise to end the loop."""


@dataclass(frozen=True)
class Callbacks:
    """A LoopDriver made of three functions: how a controller drives the loop with its own methods."""

    next_work: Callable[[], Work | None]
    after_step: Callable[[int, dict[str, float], bool], None]
    write_failed: Callable[[int, OSError], None]


def raise_write_error(index: int, error: OSError) -> None:
    """A write failure ends the loop: the controller's thread reports the run as failed."""
    raise error


def run_loop(runs: Sequence[LoopRun], driver: LoopDriver,
             model_lock: contextlib.AbstractContextManager[Any] | None = None) -> None:
    """Train `runs` as the driver asks until it returns None.

    model_lock is held around each step, so a copy of the weights taken under it is never half-updated.
    The thread policy is made here, in the thread that steps: torch's thread count is per calling thread.
    """
    lock = model_lock if model_lock is not None else contextlib.nullcontext()
    threads = ThreadPolicy(max_threads=runs[0].trainer.max_threads)
    while (work := driver.next_work()) is not None:
        run = runs[work.index]
        with lock:
            row = run.trainer.step(work.update)
        change = threads.tick()
        if change is not None:
            for other in runs:
                if other.recorder is not None and other.open:
                    other.recorder.log("threads", threads=change.threads, message=change.message())
        try:
            finite = run.record(row)
        except (OSError, RuntimeError) as error:  # torch.save on a full disk raises a RuntimeError of its own
            cause = write_error(error)
            if cause is None:
                raise
            driver.write_failed(work.index, cause)
            continue
        driver.after_step(work.index, row, finite)
