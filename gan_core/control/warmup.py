"""Warming the engine up before Start: torch's one-off start-up costs (~1.5 s on a 2-core CPU the first time a
model is built and stepped) are paid in a background thread while the user reads the page, not after Start
and never on the page's own thread. Keyed by what builds the models, so an edit that changes nothing there
(a learning rate, a seed for an unclustered model) starts no new warm-up."""

from __future__ import annotations

import threading

from gan_core.config.schema import RunConfig
from gan_core.data.datasets import ImageDataset
from gan_core.engine.trainer import Trainer
from gan_core.runtime.serial_torch import serial_torch

_lock = threading.Lock()
_started: set[tuple] = set()  # the keys warmed (or warming) in this process


def warmup_key(config: RunConfig) -> tuple:
    """What building a config's models depends on: the data, the model and the device (and the seed, which
    fixes k-means, when the model is self-conditioned)."""
    seed = config.training.seed if config.model.clusters else None
    return config.data, config.model, config.training.device, seed


def warm_up(config: RunConfig, dataset: ImageDataset) -> bool:
    """Build config's models once, in a daemon thread, unless a warm-up with the same key already ran; returns
    at once: True when this call started one."""
    key = warmup_key(config)
    with _lock:
        if key in _started:
            return False
        _started.add(key)
    thread = threading.Thread(target=_build, args=(config, dataset), name="gan-warmup", daemon=True)
    thread.start()
    return True


def _build(config: RunConfig, dataset: ImageDataset) -> None:
    """Build and drop a Trainer on this thread alone (no OpenMP pool beside training's, runtime/serial_torch.py).
    A config that cannot build is reported by Start itself, with its message, so errors are not kept here."""
    with serial_torch():
        try:
            Trainer(config, dataset)
        except (ValueError, RuntimeError, OSError):
            pass
