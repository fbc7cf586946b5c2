"""The evaluator's cache file (evaluator-*.pt under $GAN_WORKBENCH_CACHE) is untrusted like a checkpoint:
vetted before loading (a regular torch zip of stored records, no larger than an evaluator of this data set
takes), loaded with weights_only=True, and its structure vetted after (keys, types, dtypes and shapes, finite
values) before anything is built from it. A bad file is set aside and the evaluator rebuilt."""

from __future__ import annotations

import json
import math
import os
import pickle
import time
from pathlib import Path
from typing import Any

import torch

from gan_core.runs.vetting import CheckpointError, vet_file

MAX_CACHE_EXTRA_BYTES = 4 << 20  # beside the real features: the classifier (~0.6 MB), the reference, zip headers
CACHE_KEYS = frozenset({"classifier", "real_features", "num_classes", "accuracy", "code_version", "reference"})
REFERENCE_KEYS = frozenset({"n", "fid", "class_shares", "classes_covered", "kl_uniform", "precision", "recall",
                            "diversity"})


class CacheError(ValueError):
    """A cache file that is not a usable evaluator for this data set; the message says why."""


def cache_limit(images: int, feature_dim: int) -> int:
    """The most bytes an evaluator of `images` images takes: float64 features (images, feature_dim) and the rest."""
    return images * feature_dim * 8 + MAX_CACHE_EXTRA_BYTES


def read_cache(path: Path, images: int, feature_dim: int, num_classes: int, code_version: int,
               classifier_state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The vetted state of a cache file for a data set of `images` images in `num_classes` classes, whose
    classifier must fit `classifier_state` (a fresh classifier's state dict); CacheError otherwise."""
    limit = cache_limit(images, feature_dim)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise CacheError(f"it cannot be read: {error.strerror or error}") from None
    if size > limit:
        raise CacheError(f"it is {size:,} bytes, over the {limit:,} an evaluator of {images:,} images takes")
    try:
        vet_file(path, "it")  # regular file, a torch zip, stored (not compressed) records within its size
    except CheckpointError as error:
        raise CacheError(str(error).replace("checkpoint 'it'", "it").replace("a GAN Workbench checkpoint",
                                                                             "an evaluator cache")
                         .replace("not a checkpoint", "not an evaluator cache")) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # weights_only refused an object: never retried unsafely
        found = [line.strip() for line in str(error).splitlines() if "Unsupported global" in line]
        raise CacheError("it holds objects that are not plain tensors"
                         + (f" ({found[0][:200]})" if found else "")) from None
    except Exception as error:  # torch raises many types for files it cannot parse
        raise CacheError(f"it does not load as a torch file: {_first_line(error)}") from None
    vet_state(state, images, feature_dim, num_classes, code_version, classifier_state)
    return state


def vet_state(state: Any, images: int, feature_dim: int, num_classes: int, code_version: int,
              classifier_state: dict[str, torch.Tensor]) -> None:
    """Keys, types, dtypes and shapes of a loaded cache state; CacheError naming the first misfit."""
    if not isinstance(state, dict) or set(state) != CACHE_KEYS:
        keys = sorted(map(str, state))[:10] if isinstance(state, dict) else type(state).__name__
        raise CacheError(f"it holds {keys}: allowed exactly the keys {', '.join(sorted(CACHE_KEYS))}")
    if not (_is_int(state["code_version"]) and state["code_version"] == code_version):
        raise CacheError(f"its code_version is {_short(state['code_version'])}: this version writes {code_version}")
    if not (_is_int(state["num_classes"]) and state["num_classes"] == num_classes):
        raise CacheError(f"its num_classes is {_short(state['num_classes'])}: the data set has {num_classes} classes")
    _vet_tensor(state["real_features"], "real_features", torch.float64, (images, feature_dim))
    classifier = state["classifier"]
    if not isinstance(classifier, dict) or set(classifier) != set(classifier_state):
        raise CacheError("its classifier does not hold the feature classifier's weights")
    for name, fresh in classifier_state.items():
        _vet_tensor(classifier[name], f"classifier.{name}", fresh.dtype, tuple(fresh.shape))
    accuracy = state["accuracy"]
    if not (isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0):
        raise CacheError(f"its accuracy is {_short(accuracy)}: allowed a number from 0 to 1")
    _vet_reference(state["reference"], num_classes)


def _vet_tensor(value: Any, name: str, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    if not isinstance(value, torch.Tensor) or value.layout != torch.strided or value.dtype != dtype \
            or tuple(value.shape) != shape:
        found = f"{value.dtype} {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
        raise CacheError(f"its {name} is {found}: allowed {dtype} {shape}")
    if not bool(torch.isfinite(value).all()):
        raise CacheError(f"its {name} holds NaN or infinite values")


def _vet_reference(text: Any, num_classes: int) -> None:
    """The real data's own scores: JSON text of a flat object with the expected keys and finite numbers."""
    if not isinstance(text, str):
        raise CacheError(f"its reference is {type(text).__name__}: allowed JSON text")
    try:
        reference = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CacheError(f"its reference is not valid JSON ({_first_line(error)})") from None
    if not isinstance(reference, dict) or set(reference) != REFERENCE_KEYS:
        raise CacheError(f"its reference does not hold exactly {', '.join(sorted(REFERENCE_KEYS))}")
    shares = reference["class_shares"]
    numbers = [reference[key] for key in REFERENCE_KEYS - {"class_shares"}]
    if not (isinstance(shares, list) and len(shares) == num_classes) \
            or not all(_is_number(value) and math.isfinite(value) for value in [*numbers, *shares]) \
            or not all(_is_int(reference[key]) for key in ("n", "classes_covered")):
        raise CacheError(f"its reference holds values that are not scores (finite numbers, {num_classes} class shares)")


def set_aside(path: Path, reason: str) -> str:
    """Move a bad cache file out of the way (removed when it cannot be renamed); the one line that says so."""
    aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    try:
        os.replace(path, aside)
        where = f"set aside as {aside.name}"
    except OSError:
        try:
            path.unlink()
            where = "set aside (removed)"
        except OSError as error:
            where = f"left in place ({error.strerror or error})"
    return " ".join(f"the evaluator cache {path.name} is unusable ({reason}); {where} and rebuilt".split())


def _short(value: Any) -> str:
    """A value from the file for a message: its type for tensors and containers, else its repr, cut short."""
    return type(value).__name__ if isinstance(value, (torch.Tensor, dict, list, tuple)) else repr(value)[:40]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
