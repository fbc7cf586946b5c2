"""The latent explorer's "Follow the live run": the sample grid, the interpolation strip and the class strip of
the live generator, as PNGs, made only when the generator has moved on (a new step) or the request changed.
Pure functions of a generator copy and a vetted request; no Streamlit."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import torch
from torch import nn

from dashboard.live.messages import png_base64
from gan_core.views.latent import generate, image_grid, interpolate, z_from_seed, zs_from_seeds

KINDS = ("grid", "strip", "classes")
COUNTS = (4, 16, 36, 64)
METHODS = ("slerp", "lerp")
MAX_SEED = 2**31 - 1
# The request's fields and their types (live/feed.py drops anything else); ranges are checked by `request`.
# "label" is the class index plus one (0: each class in turn), so every number echoed is >= 0.
REQUEST_FIELDS = {"kind": str, "seed": int, "count": int, "label": int, "start": int, "end": int, "steps": int,
                  "method": str}


def request(values: dict[str, Any]) -> dict[str, Any]:
    """The vetted request (what to draw), or ValueError naming the field and what is allowed."""
    kind = values.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    for name in ("seed", "start", "end"):
        if not 0 <= values.get(name, 0) <= MAX_SEED:
            raise ValueError(f"{name}: a seed from 0 to {MAX_SEED}")
    if values.get("count", 16) not in COUNTS:
        raise ValueError(f"count: one of {', '.join(map(str, COUNTS))}")
    if not 2 <= values.get("steps", 8) <= 32:
        raise ValueError("steps: from 2 to 32")
    if values.get("method", "slerp") not in METHODS:
        raise ValueError(f"method: one of {', '.join(METHODS)}")
    if not 0 <= values.get("label", 0) <= 1000:
        raise ValueError("label: a class index plus one, or 0 for each class in turn")
    return {"kind": kind, "seed": values.get("seed", 0), "count": values.get("count", 16),
            "label": values.get("label", 0), "start": values.get("start", 1), "end": values.get("end", 2),
            "steps": values.get("steps", 8), "method": values.get("method", "slerp")}


def request_key(wanted: dict[str, Any]) -> str:
    """A short fingerprint of a request: a new one means a new picture even at the same step."""
    return hashlib.sha1(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


def _labels(label: int | None, count: int) -> torch.Tensor | None:
    """(count,) of one class for a conditional generator; None leaves the classes in turn."""
    return None if label is None else torch.full((count,), label, dtype=torch.int64)


def grid_image(generator: nn.Module, seeds: tuple[int, ...], latent_dim: int, label: int | None = None) -> np.ndarray:
    """The sample grid for these seeds (of one class, for a conditional G)."""
    return image_grid(generate(generator, zs_from_seeds(seeds, latent_dim), labels=_labels(label, len(seeds))))


def strip_image(generator: nn.Module, start: int, end: int, steps: int, method: str, latent_dim: int,
                label: int | None = None) -> np.ndarray:
    """The interpolation strip between two seeds (within one class, for a conditional G)."""
    path = interpolate(z_from_seed(start, latent_dim), z_from_seed(end, latent_dim), steps, method)
    return image_grid(generate(generator, path, labels=_labels(label, steps)), columns=steps)


def class_strip_image(generator: nn.Module, seed: int, latent_dim: int, classes: int) -> np.ndarray:
    """One seed's z as each class in turn: (classes,) images in a row."""
    z = z_from_seed(seed, latent_dim).expand(classes, latent_dim)
    return image_grid(generate(generator, z, labels=torch.arange(classes)), columns=classes)


def picture(generator: nn.Module, latent_dim: int, wanted: dict[str, Any]) -> tuple[np.ndarray, str] | None:
    """(uint8 image, caption) of what the request asks for; None for the class strip of an unconditional G."""
    classes = int(getattr(generator, "num_classes", 0) or 0)
    label = wanted["label"] - 1 if 0 < wanted["label"] <= classes else None
    suffix = "" if label is None else f", class {label}"
    if wanted["kind"] == "grid":
        seeds = tuple(range(wanted["seed"], wanted["seed"] + wanted["count"]))
        return grid_image(generator, seeds, latent_dim, label), f"seeds {seeds[0]}..{seeds[-1]}{suffix}"
    if wanted["kind"] == "strip":
        caption = f"{wanted['method']}, {wanted['steps']} steps from seed {wanted['start']} to seed {wanted['end']}"
        return strip_image(generator, wanted["start"], wanted["end"], wanted["steps"], wanted["method"], latent_dim,
                           label), caption
    if not classes:
        return None
    return (class_strip_image(generator, wanted["seed"], latent_dim, classes),
            f"seed {wanted['seed']} as each class, 0 to {classes - 1}")


def sample_message(identity: tuple[str, int, int], generator: nn.Module | None, latent_dim: int,
                   wanted: dict[str, Any], sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, record): the picture for identity (run, generation, step) and the request, only when the
    browser does not hold it already (the same seq otherwise, and nothing to redo)."""
    run, generation, step = identity
    key = request_key(wanted)
    holds = (sent.get("run"), sent.get("gen"), sent.get("step"), sent.get("key")) == (run, generation, step, key)
    if holds or generator is None:
        seq = sent.get("seq", 0)
        return {"seq": seq, "image": None}, {**wanted, "run": run, "gen": generation, "step": step,
                                            "key": sent.get("key", ""), "seq": seq}
    made = picture(generator, latent_dim, wanted)
    seq = sent.get("seq", 0) + 1
    image = None if made is None else {"png": png_base64(made[0]), "caption": f"{made[1]} · step {step}",
                                       "step": step}
    return {"seq": seq, "image": image}, {**wanted, "run": run, "gen": generation, "step": step, "key": key,
                                          "seq": seq}
