"""Controller: the mechanism behind the TrainingSession and the A/B runner. One daemon thread trains; every
public method of a subclass is safe from any thread and returns quickly because it only queues a command or
sets a request under one Condition; the thread runs the commands between steps, outside that Condition, so
no file is written while a caller waits for it. Weights are touched under a separate model lock, held for one
step at a time, so model copies are never half-updated. An active run is stopped (with its last checkpoint)
at interpreter exit."""

from __future__ import annotations

import atexit
import copy
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from torch import nn

from gan_core.runtime.priority import start_thread

if TYPE_CHECKING:
    from gan_core.engine.trainer import Trainer


class ModelCopies(NamedTuple):
    """Eval-mode copies of a run's networks, detached from training, and the step they were taken at."""

    generator: nn.Module
    """G as sampled (the EMA weights when training.ema_decay is on), without gradients."""
    discriminator: nn.Module | None
    """D without gradients, when asked for."""
    step: int
    """Steps the run had trained when the copies were taken."""


class Controller:
    """A background training thread behind thread-safe controls: requests, commands, shutdown, model copies."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._model_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._commands: list[tuple[str, Any]] = []  # (kind, payload), run by the thread between steps
        self._stop_requested = False
        # atexit holds only a weak reference, so a controller can still be garbage collected.
        reference = weakref.ref(self)
        atexit.register(lambda: (controller := reference()) is not None and controller.shutdown())

    def stop(self) -> None:
        """Ask the thread to end after its current step (subclasses add their own state changes)."""
        with self._cond:
            self._stop_requested = True
            self._cond.notify_all()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop an active run, wait for its last checkpoint, join the thread (registered with atexit)."""
        self.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _launch_thread(self, target: Callable[..., None], name: str, *args: Any) -> None:
        """Start the training thread at the process's starting priority (runtime/priority.py); caller holds _cond."""
        self._thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        start_thread(self._thread)

    def _submit(self, kind: str, payload: Any = None) -> None:
        """Queue a command for the thread and wake it (caller holds _cond)."""
        self._commands.append((kind, payload))
        self._cond.notify_all()

    def _take_commands(self) -> list[tuple[str, Any]]:
        """The queued commands, oldest first, each handed out once (caller holds _cond)."""
        commands, self._commands = self._commands, []
        return commands

    def _model_copies(self, trainer: "Trainer", discriminator: bool = True) -> ModelCopies:
        """Copies of a trainer's sampling generator (and D), taken between steps under the model lock."""
        with self._model_lock:
            generator = _frozen_copy(trainer.sampling_generator())
            critic = _frozen_copy(trainer.discriminator) if discriminator else None
            return ModelCopies(generator, critic, trainer.step_count)


def _frozen_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).eval().requires_grad_(False)
