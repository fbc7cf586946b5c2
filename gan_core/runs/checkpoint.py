"""Checkpoints: a trainer's plain state stamped with our format, saved atomically, loaded safely
(weights_only=True) and vetted before it reaches a trainer, with clear refusals."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, Protocol, Sized

import torch
from torch import nn

from gan_core.runs.schema import CHECKPOINT_FORMAT, CHECKPOINT_SCHEMA_VERSION, REQUIRED_KEYS, migrate
from gan_core.runs.vetting import CheckpointError, check_finite, check_fits, vet_file, vet_state
from gan_core.config.schema import RunConfig
from gan_core.nets.models import build_models
from gan_core.files import atomic_writer



class Restorable(Protocol):
    """What restore() needs of a trainer (the checkpoint module never imports the trainer)."""

    generator: nn.Module
    discriminator: nn.Module
    dataset: Sized

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def stamp(state: dict[str, Any]) -> dict[str, Any]:
    """A trainer's plain state with our format marker and schema version in front (keys the state
    already has are kept, so a test can write a future version)."""
    return {"format": CHECKPOINT_FORMAT, "schema_version": CHECKPOINT_SCHEMA_VERSION, **state}


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Stamp a trainer's state_dict() and write it to path atomically (see atomic_save)."""
    return atomic_save(stamp(state), path)


def restore(trainer: Restorable, state: dict[str, Any], source: str = "checkpoint") -> None:
    """Load a state from load_checkpoint into a trainer, once its weights and batch order are known to
    fit that trainer's models and data (CheckpointError naming the first misfit otherwise)."""
    check_fits(state, {"generator": trainer.generator, "discriminator": trainer.discriminator}, source)
    order, size = state["sampler"]["order"], len(trainer.dataset)  # order: vetted as a 1-d int64 tensor
    if order.numel() != size or (size and (int(order.min()) < 0 or int(order.max()) >= size)) \
            or state["sampler"]["position"] > size:
        raise CheckpointError(f"{source}'s batch order does not fit the data set of {size} images")
    trainer.load_state_dict(state)


def atomic_save(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write obj with torch.save atomically (safe_io.atomic_writer: temp file, fsync, os.replace; a link at
    path is replaced, never written through)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as file:
        torch.save(obj, file)
    return path


def load_checkpoint(path: str | os.PathLike, name: str | None = None) -> dict[str, Any]:
    """Load and vet a checkpoint with weights_only=True; CheckpointError says what is wrong.

    Declared sizes are vetted before loading (vet_file), and the structure, config limits and every
    tensor's type and shape after it, before any model is built (vet_state). Messages call the
    file `name` when given (for an upload: its own name, never the server's temp path).
    """
    path = Path(path)
    label = name or str(path)
    vet_file(path, label)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # weights_only refuses anything but tensors and plain types: never retried unsafely.
        raise CheckpointError(f"{label} is not a GAN Workbench checkpoint: it holds objects that "
                              f"are not plain tensors ({str(error).splitlines()[0]})") from None
    except Exception as error:  # torch raises many types for files it cannot parse
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise CheckpointError(f"{label} is not a GAN Workbench checkpoint (not a torch file): {first_line}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{label} is not a GAN Workbench checkpoint: a torch file without our "
                              f"format marker {CHECKPOINT_FORMAT!r}")
    state = migrate(state, label)  # an older schema is brought to this one (runs/schema.py)
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{label} is an incomplete checkpoint: missing {', '.join(missing)}")
    vet_state(state, label)
    return state


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu", use_ema: bool = True,
                   name: str | None = None) -> tuple[nn.Module, RunConfig, dict[str, Any]]:
    """An eval-mode generator from a checkpoint (its EMA weights when present), its config and the state.

    A conditional checkpoint's generator takes (z, labels) and has num_classes > 0 (0 otherwise).
    CheckpointError also for weights holding NaN or infinity. name: what messages call the file.
    """
    state = load_checkpoint(path, name)
    config = RunConfig.from_dict(state["config"])
    image_shape = tuple(int(s) for s in state["image_shape"])
    key = "generator_ema" if use_ema and "generator_ema" in state else "generator"
    check_finite(state[key], f"{name or path}: {key}")
    generator, _ = build_models(config.model, image_shape, int(state["num_classes"]))  # type: ignore[arg-type]
    generator.load_state_dict(state[key])
    return generator.to(device).eval(), config, state
