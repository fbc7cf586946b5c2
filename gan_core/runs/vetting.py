"""Vetting a checkpoint before the expensive work: declared sizes before loading, structure, config
limits and every tensor's type and shape before any model is built. Each refusal names the problem."""

from __future__ import annotations

import math
import stat
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gan_core.config.schema import RunConfig
from gan_core.config.validation import is_int, is_number
from gan_core.nets.models import MAX_CLASSES, build_models

MAX_CHECKPOINT_BYTES = 2 << 30  # 2 GiB of tensors: the largest model allowed, with EMA and Adam state
MAX_PICKLE_BYTES = 64 << 20  # data.pkl (the structure, no tensor data) is a few KB for our files
MAX_RECORDS = 10_000  # files in the checkpoint's zip; ours hold a few dozen
MAX_MODEL_PARAMETERS = 50_000_000  # per network (G or D): 200 MB of float32, far beyond any preset
IMAGE_CHANNELS = (1, 3)
IMAGE_SIDE_RANGE = (4, 256)  # the config's data.image_size range
CPU_RNG_STATE_BYTES = len(torch.Generator().get_state())
CUDA_RNG_STATE_BYTES = 16


class CheckpointError(ValueError):
    """A file is not a usable checkpoint of ours; the message says which problem."""


def vet_file(path: Path, name: str | None = None) -> None:
    """Before torch.load: a regular, non-empty torch zip whose records are stored (not compressed) and
    whose declared sizes fit the limits, so loading cannot allocate more than the limits.
    Messages call the file `name` when given (an upload's original name, not a server path)."""
    label = name or str(path)
    try:
        info = path.stat()
    except OSError:
        raise CheckpointError(f"checkpoint {label!r} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"checkpoint {label!r} is not a regular file")
    if info.st_size == 0:
        raise CheckpointError(f"{label} is empty (0 bytes): not a checkpoint")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as file:
            if file.read(4) == b"PK\x03\x04":  # starts like a zip, does not end like one
                raise CheckpointError(f"{label} is truncated or corrupt: its zip directory is missing")
        raise CheckpointError(f"{label} is not a GAN Workbench checkpoint (not a torch zip file)")
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{label} is truncated or corrupt: {error}") from None
    if len(records) > MAX_RECORDS:
        raise CheckpointError(f"{label} holds {len(records)} records: more than the limit of {MAX_RECORDS}")
    total = 0
    for record in records:
        if record.compress_type != zipfile.ZIP_STORED:
            # torch.save never compresses; a compressed record could inflate far beyond the file's size.
            raise CheckpointError(f"{label} has a compressed record {record.filename!r}: not written by torch.save")
        if record.filename.endswith("data.pkl") and record.file_size > MAX_PICKLE_BYTES:
            raise CheckpointError(f"{label}: its structure record is {record.file_size} bytes, over the "
                                  f"{MAX_PICKLE_BYTES}-byte limit")
        total += record.file_size
    if total > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{label} declares {total} bytes of data: over the limit of {MAX_CHECKPOINT_BYTES}")
    if total > info.st_size:
        raise CheckpointError(f"{label} is truncated or corrupt: it declares more data than the file holds")


def vet_state(state: dict[str, Any], source: str) -> tuple[RunConfig, tuple[int, int, int]]:
    """After a weights_only load, before any real model: config, image shape, model size, and every
    tensor's type and shape (weights, optimizer state, RNG states, batch order, fixed noise)."""
    try:
        config = RunConfig.from_dict(state["config"])
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{source} holds an invalid config: {error}") from None
    image_shape = vet_image_shape(state["image_shape"], source, config.data.is_points)
    generator, discriminator = meta_models(config, image_shape, source, vet_num_classes(state, config, source))
    models = {"generator": generator, "discriminator": discriminator}
    if "generator_ema" in state:
        models["generator_ema"] = generator
    check_fits(state, models, source)
    for key, model in (("optimizer_g", generator), ("optimizer_d", discriminator)):
        _vet_optimizer(state[key], model, f"{source}: {key}")
    for key in ("step", "epoch"):
        if key in state and not (is_int(state[key]) and state[key] >= 0):
            raise CheckpointError(f"{source}: {key} is {state[key]!r}, not an integer >= 0")
    if "time_s" in state and not (is_number(state["time_s"]) and math.isfinite(state["time_s"])):
        raise CheckpointError(f"{source}: time_s is {state['time_s']!r}, not a finite number")
    for key in ("rng", "noise_rng", "augment_rng"):
        _vet_tensor(state[key], f"{source}: {key}", torch.uint8, 1)
        if state[key].numel() not in (CPU_RNG_STATE_BYTES, CUDA_RNG_STATE_BYTES):
            raise CheckpointError(f"{source}: {key} holds {state[key].numel()} bytes, not a generator state")
    _vet_adaptive_augment(state["adaptive_augment"], config.training.augment == "adaptive", source)
    sampler = state["sampler"]
    if not isinstance(sampler, dict) or not all(k in sampler for k in ("epoch", "position", "order")):
        raise CheckpointError(f"{source}: sampler must be a dict with epoch, position and order")
    for key in ("epoch", "position"):
        if not (is_int(sampler[key]) and sampler[key] >= 0):
            raise CheckpointError(f"{source}: sampler.{key} is {sampler[key]!r}, not an integer >= 0")
    _vet_tensor(sampler["order"], f"{source}: sampler.order", torch.int64, 1)
    noise = state["fixed_noise"]
    _vet_tensor(noise, f"{source}: fixed_noise", None, 2)
    expected = (config.training.grid_size, config.model.latent_dim)
    if not noise.is_floating_point() or tuple(noise.shape) != expected:
        raise CheckpointError(f"{source}: fixed_noise is {noise.dtype} {tuple(noise.shape)}; the config "
                              f"expects floats of shape {expected}")
    return config, image_shape


def vet_image_shape(value: Any, source: str, points: bool = False) -> tuple[int, ...]:
    """image_shape as (C, H, W) with C in 1/3 and square sides within the config's range; [2] for points."""
    if points:
        if not (isinstance(value, (list, tuple)) and list(value) == [2]):
            raise CheckpointError(f"{source}: image_shape {value!r} is invalid: allowed [2] for 2D point data")
        return (2,)
    low, high = IMAGE_SIDE_RANGE
    if (not isinstance(value, (list, tuple)) or len(value) != 3 or not all(is_int(v) for v in value)
            or value[0] not in IMAGE_CHANNELS or value[1] != value[2] or not low <= value[1] <= high):
        raise CheckpointError(f"{source}: image_shape {value!r} is invalid: allowed [C, H, W] with C 1 or 3 "
                              f"and square sides from {low} to {high}")
    return (value[0], value[1], value[2])


def _vet_adaptive_augment(value: Any, adaptive: bool, source: str) -> None:
    """ADA's state: {probability in [0, 1], signal in [-1, 1]} for an adaptive run, None otherwise."""
    if not adaptive:
        if value is not None:
            raise CheckpointError(f"{source}: adaptive_augment must be None when training.augment is not adaptive")
        return
    if not (isinstance(value, dict) and set(value) == {"probability", "signal"}
            and is_number(value["probability"]) and 0.0 <= value["probability"] <= 1.0
            and is_number(value["signal"]) and -1.0 <= value["signal"] <= 1.0):
        raise CheckpointError(f"{source}: adaptive_augment must be {{probability in [0, 1], signal in [-1, 1]}}")


def vet_num_classes(state: dict[str, Any], config: RunConfig, source: str) -> int:
    """A conditional checkpoint's class count (2..MAX_CLASSES); 0 for an unconditional one."""
    value = state["num_classes"]
    if not config.model.conditional:
        if value != 0:
            raise CheckpointError(f"{source}: num_classes is {value!r} but model.conditional is false")
        return 0
    if not (is_int(value) and 2 <= value <= MAX_CLASSES):
        raise CheckpointError(f"{source}: model.conditional is true but num_classes is {value!r}: allowed an "
                              f"integer from 2 to {MAX_CLASSES}")
    return value


def meta_models(config: RunConfig, image_shape: tuple[int, int, int], source: str,
                num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """G and D on the meta device (shapes only, no memory), refused above MAX_MODEL_PARAMETERS each."""
    try:
        with torch.device("meta"):
            generator, discriminator = build_models(config.model, image_shape, num_classes)
    except (ValueError, RuntimeError) as error:
        raise CheckpointError(f"{source}: its config does not build a model: {error}") from None
    for name, model in (("generator", generator), ("discriminator", discriminator)):
        count = sum(p.numel() for p in model.parameters())
        if count > MAX_MODEL_PARAMETERS:
            raise CheckpointError(f"{source}: its config asks for a {name} of {count:,} parameters: over the "
                                  f"limit of {MAX_MODEL_PARAMETERS:,} (model.hidden_dim, model.depth, "
                                  "model.base_channels, model.latent_dim or the image shape are too large)")
    return generator, discriminator


def check_fits(state: dict[str, Any], models: dict[str, nn.Module], source: str = "checkpoint") -> None:
    """Refuse, naming the first entry, unless each state[key] is a dict of tensors with the model's
    names, dtypes and shapes."""
    for key, model in models.items():
        expected = model.state_dict()
        stored = state.get(key)
        if not isinstance(stored, dict):
            raise CheckpointError(f"{source}: {key} is a {type(stored).__name__}, not a dict of tensors")
        missing = sorted(set(expected) - set(stored), key=str)
        extra = sorted(set(stored) - set(expected), key=str)
        if missing or extra:
            raise CheckpointError(f"{source} does not fit the config: {key} "
                                  f"{'lacks ' + missing[0] if missing else 'has extra ' + str(extra[0])}")
        for name, tensor in expected.items():
            value = stored[name]
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{source}: {key}.{name} is a {type(value).__name__}, not a tensor")
            if tuple(value.shape) != tuple(tensor.shape):
                raise CheckpointError(f"{source} does not fit the config: {key}.{name} has shape "
                                      f"{tuple(value.shape)}, the config expects {tuple(tensor.shape)}")
            if value.dtype != tensor.dtype:
                raise CheckpointError(f"{source}: {key}.{name} is {value.dtype}, the model expects {tensor.dtype}")


def check_finite(weights: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights with NaN or infinity (a diverged or tampered model would sample garbage)."""
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: {name} holds non-finite values (NaN or infinity): the "
                                  "weights are unusable; use an earlier checkpoint")


def _vet_optimizer(value: Any, model: nn.Module, source: str) -> None:
    """Adam's state_dict: param_groups covering the model's parameters once; per-parameter tensors of its shape."""
    if not isinstance(value, dict) or not isinstance(value.get("state"), dict) \
            or not isinstance(value.get("param_groups"), list):
        raise CheckpointError(f"{source} must be a dict with state and param_groups")
    shapes = [tuple(p.shape) for p in model.parameters()]
    indices = []
    for group in value["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list) \
                or not all(is_int(i) for i in group["params"]):
            raise CheckpointError(f"{source}: a param group is not a dict with a list of parameter indices")
        for name in ("lr", "eps", "weight_decay"):
            if name in group and not (is_number(group[name]) and math.isfinite(group[name])):
                raise CheckpointError(f"{source}: param group {name} is {group[name]!r}, not a finite number")
        indices += group["params"]
    if sorted(indices) != list(range(len(shapes))):
        raise CheckpointError(f"{source}: its param groups do not cover the model's {len(shapes)} parameters")
    for index, entry in value["state"].items():
        if not (is_int(index) and 0 <= index < len(shapes)) or not isinstance(entry, dict):
            raise CheckpointError(f"{source}: state entry {index!r} is not a parameter index with a dict")
        for name, tensor in entry.items():
            if not isinstance(tensor, torch.Tensor):
                raise CheckpointError(f"{source}: state[{index}].{name} is a {type(tensor).__name__}, not a tensor")
            if name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") and tuple(tensor.shape) != shapes[index]:
                raise CheckpointError(f"{source}: state[{index}].{name} has shape {tuple(tensor.shape)}, "
                                      f"the parameter has {shapes[index]}")


def _vet_tensor(value: Any, source: str, dtype: torch.dtype | None, ndim: int) -> None:
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{source} is a {type(value).__name__}, not a tensor")
    if (dtype is not None and value.dtype != dtype) or value.ndim != ndim:
        raise CheckpointError(f"{source} is a {value.ndim}-d {value.dtype} tensor; expected a {ndim}-d "
                              f"{dtype or 'float'} tensor")
