"""The checkpoint schema: its version, the keys each version holds, and one migration per older version.

A checkpoint is a plain dict (tensors and plain types, loaded with weights_only=True). Each change to what a
checkpoint holds bumps CHECKPOINT_SCHEMA_VERSION and adds one function to MIGRATIONS that turns a state of the
version before into the new one, so the Trainer reads only the current schema and never asks "is this key
there?". Migrations run on untrusted input before vetting: they read defensively and refuse with
CheckpointError; vetting (runs/vetting.py) then checks every key of the current version.

    1: the first schema; augment_rng, adaptive_augment and num_classes appeared over time as optional keys
    2: every key present: augment_rng always, num_classes always (0 unconditional), adaptive_augment a dict
       for an adaptive run and None otherwise
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from gan_core.config.schema import SEED_OFFSETS, RunConfig
from gan_core.runs.vetting import CUDA_RNG_STATE_BYTES, CheckpointError

CHECKPOINT_FORMAT = "gan-workbench-checkpoint"
CHECKPOINT_SCHEMA_VERSION = 2
REQUIRED_KEYS = ("config", "image_shape", "step", "generator", "discriminator", "optimizer_g", "optimizer_d",
                 "rng", "noise_rng", "sampler", "fixed_noise", "augment_rng", "num_classes", "adaptive_augment")


def seeded_generator_state(seed: int, like: Any) -> torch.Tensor:
    """The state of a generator freshly seeded with `seed`, on the kind of device whose state `like` is: a
    CUDA state is (seed, offset) as 16 bytes, a CPU state the Mersenne Twister's."""
    if isinstance(like, torch.Tensor) and like.numel() == CUDA_RNG_STATE_BYTES:
        return torch.tensor([seed, 0], dtype=torch.int64).view(torch.uint8)
    return torch.Generator().manual_seed(seed).get_state()


def _version_1_to_2(state: dict[str, Any], source: str) -> dict[str, Any]:
    """Version 1 -> 2: fill the keys version 1 left out with what the Trainer used in their place (the seeded
    augmentation generator, no classes, the adaptive probability's starting value)."""
    try:
        config = RunConfig.from_dict(state.get("config"))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{source} holds an invalid config: {error}") from None
    migrated = dict(state)
    migrated.setdefault("augment_rng", seeded_generator_state(config.training.seed + SEED_OFFSETS["augment"],
                                                               state.get("rng")))
    migrated.setdefault("num_classes", 0)
    if config.training.augment == "adaptive":
        migrated.setdefault("adaptive_augment", {"probability": float(config.training.augment_p), "signal": 0.0})
    else:
        migrated["adaptive_augment"] = None
    migrated["schema_version"] = 2
    return migrated


# MIGRATIONS[v] turns a version-v state into version v + 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any], str], dict[str, Any]]] = {1: _version_1_to_2}


def migrate(state: dict[str, Any], source: str) -> dict[str, Any]:
    """A loaded state of any version we know, brought to CHECKPOINT_SCHEMA_VERSION one migration at a time;
    CheckpointError for a version we do not know (a newer GAN Workbench's, or not a version at all)."""
    version = state.get("schema_version")
    if not (isinstance(version, int) and not isinstance(version, bool)) \
            or not (version == CHECKPOINT_SCHEMA_VERSION or version in MIGRATIONS):
        raise CheckpointError(f"{source} has checkpoint schema version {version!r}; this version of GAN Workbench "
                              f"reads versions 1 to {CHECKPOINT_SCHEMA_VERSION}")
    while version != CHECKPOINT_SCHEMA_VERSION:
        state = MIGRATIONS[version](state, source)
        version = state["schema_version"]
    return state
