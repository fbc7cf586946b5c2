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
# "hold" is 1 to keep the start's cluster along a walk (z[:, 0] held: a self-conditioned G reads its cluster there).
REQUEST_FIELDS = {"kind": str, "seed": int, "count": int, "label": int, "start": int, "end": int, "steps": int,
                  "method": str, "hold": int}


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
    if values.get("hold", 0) not in (0, 1):
        raise ValueError("hold: 1 to keep the start's cluster, or 0")
    return {"kind": kind, "seed": values.get("seed", 0), "count": values.get("count", 16),
            "label": values.get("label", 0), "start": values.get("start", 1), "end": values.get("end", 2),
            "steps": values.get("steps", 8), "method": values.get("method", "slerp"), "hold": values.get("hold", 0)}


def request_key(wanted: dict[str, Any]) -> str:
    """A short fingerprint of a request: a new one means a new picture even at the same step."""
    return hashlib.sha1(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


def _labels(label: int | None, count: int) -> torch.Tensor | None:
    """(count,) of one class for a conditional generator; None leaves the classes in turn."""
    return None if label is None else torch.full((count,), label, dtype=torch.int64)


def grid_image(generator: nn.Module, seeds: tuple[int, ...], latent_dim: int, label: int | None = None) -> np.ndarray:
    """The sample grid for these seeds (of one class, for a conditional G)."""
    return image_grid(generate(generator, zs_from_seeds(seeds, latent_dim), labels=_labels(label, len(seeds))))


def walk_latents(start: int, end: int, steps: int, method: str, latent_dim: int, hold: bool = False) -> torch.Tensor:
    """(steps, latent_dim) from seed start's z to seed end's; hold keeps z[:, 0] at the start's value, so a
    self-conditioned G stays in the start's cluster (it reads the cluster off that coordinate)."""
    path = interpolate(z_from_seed(start, latent_dim), z_from_seed(end, latent_dim), steps, method)
    if hold:
        path[:, 0] = path[0, 0]
    return path


def walk_clusters(generator: nn.Module, path: torch.Tensor) -> list[int] | None:
    """The cluster a self-conditioned G draws for each latent of a walk; None for any other generator."""
    if not hasattr(generator, "clusters_for") or getattr(generator, "cluster_edges", None) is None:
        return None
    with torch.inference_mode():
        return generator.clusters_for(path.to(next(generator.parameters()).device)).cpu().tolist()


def strip_image(generator: nn.Module, start: int, end: int, steps: int, method: str, latent_dim: int,
                label: int | None = None, hold: bool = False) -> np.ndarray:
    """The interpolation strip between two seeds (within one class, for a conditional G; in the start's cluster
    with hold, for a self-conditioned G)."""
    path = walk_latents(start, end, steps, method, latent_dim, hold)
    return image_grid(generate(generator, path, labels=_labels(label, steps)), columns=steps)


def strip_caption(generator: nn.Module, start: int, end: int, steps: int, method: str, latent_dim: int,
                  hold: bool = False) -> str:
    """The strip's caption; for a self-conditioned G it names each frame's cluster (why a walk may jump)."""
    caption = f"{method}, {steps} steps from seed {start} to seed {end}"
    clusters = walk_clusters(generator, walk_latents(start, end, steps, method, latent_dim, hold))
    if clusters is None:
        return caption
    return caption + (", z[0] held" if hold else "") + " · clusters " + " ".join(map(str, clusters))


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
        walk = (wanted["start"], wanted["end"], wanted["steps"], wanted["method"], latent_dim)
        hold = bool(wanted["hold"])
        return (strip_image(generator, *walk, label, hold),
                strip_caption(generator, *walk, hold))
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
