"""Checkpoints: atomic save, safe load (weights_only=True), clear refusals."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan_core.config import RunConfig
from gan_core.models import build_models

CHECKPOINT_FORMAT = "gan-workbench-checkpoint"
CHECKPOINT_SCHEMA_VERSION = 1
REQUIRED_KEYS = ("config", "image_shape", "step", "generator", "discriminator", "optimizer_g",
                 "optimizer_d", "rng", "noise_rng", "sampler", "fixed_noise")


class CheckpointError(ValueError):
    """A file is not a usable checkpoint of ours; the message says which problem."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write state to path atomically: temp file in the same folder, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    # fsync the folder so the rename itself survives a power cut.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and vet a checkpoint with weights_only=True; CheckpointError says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # weights_only refuses anything but tensors and plain types: never retried unsafely.
        raise CheckpointError(f"{path} is not a GAN Workbench checkpoint: it holds objects that "
                              f"are not plain tensors ({str(error).splitlines()[0]})") from None
    except Exception as error:  # torch raises many types for files it cannot parse
        if not zipfile.is_zipfile(path) and _looks_truncated(path):
            raise CheckpointError(f"{path} is truncated or corrupt: {error}") from None
        raise CheckpointError(f"{path} is not a GAN Workbench checkpoint (not a torch file): "
                              f"{str(error).splitlines()[0]}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a GAN Workbench checkpoint: a torch file without our "
                              f"format marker {CHECKPOINT_FORMAT!r}")
    version = state.get("schema_version")
    if version != CHECKPOINT_SCHEMA_VERSION:
        raise CheckpointError(f"{path} has checkpoint schema version {version!r}; this version of "
                              f"GAN Workbench reads version {CHECKPOINT_SCHEMA_VERSION}")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path} is an incomplete checkpoint: missing {', '.join(missing)}")
    try:
        RunConfig.from_dict(state["config"])
    except ValueError as error:
        raise CheckpointError(f"{path} holds an invalid config: {error}") from None
    return state


def _looks_truncated(path: Path) -> bool:
    """A torch zip file whose central directory is gone: starts like a zip, does not end like one."""
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def check_fits(state: dict[str, Any], models: dict[str, nn.Module], source: str = "checkpoint") -> None:
    """Refuse, naming the first tensor, when the state's weights do not fit the given models' shapes."""
    for key, model in models.items():
        expected = model.state_dict()
        stored = state[key]
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        if missing or extra:
            raise CheckpointError(f"{source} does not fit the config: {key} "
                                  f"{'lacks ' + missing[0] if missing else 'has extra ' + extra[0]}")
        for name, tensor in expected.items():
            if tuple(stored[name].shape) != tuple(tensor.shape):
                raise CheckpointError(f"{source} does not fit the config: {key}.{name} has shape "
                                      f"{tuple(stored[name].shape)}, the config expects {tuple(tensor.shape)}")


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu",
                   use_ema: bool = True) -> tuple[nn.Module, RunConfig, dict[str, Any]]:
    """An eval-mode generator from a checkpoint (its EMA weights when present), its config and the state."""
    state = load_checkpoint(path)
    config = RunConfig.from_dict(state["config"])
    image_shape = tuple(int(s) for s in state["image_shape"])
    generator, discriminator = build_models(config.model, image_shape)  # type: ignore[arg-type]
    check_fits(state, {"generator": generator, "discriminator": discriminator}, str(path))
    weights = state.get("generator_ema") if use_ema and "generator_ema" in state else state["generator"]
    generator.load_state_dict(weights)
    return generator.to(device).eval(), config, state
