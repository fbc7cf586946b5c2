"""Latent vector arithmetic (class or cluster means of z, added and subtracted), class morphs (one z, the class
vector mixed from class A to class B) and walks between two projected real images.

The classifier that sorts samples into classes comes in as a function: views sit below quality (see
gan_core/quality/latent_quality.py for the evaluator's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from gan_core.views.codes import latent_codes
from gan_core.views.latent import generate, interpolate
from gan_core.views.projection import Projection

MAX_MORPH_STEPS = 256
_TERM = re.compile(r"\s*([+-])?\s*(?:(\d+(?:\.\d*)?|\.\d+)\s*\*?\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*")


@dataclass
class LatentMeans:
    """The mean z of the samples in each class or cluster: vectors[k] is named names[k] (e.g. "class3")."""

    vectors: torch.Tensor  # (K, latent_dim) float32; a class no sample fell in is NaN
    counts: torch.Tensor  # (K,) int64 samples averaged per class or cluster
    kind: str  # "classes" (sorted by a classifier) or "clusters" (a self-conditioned G's own)

    @property
    def names(self) -> list[str]:
        """One name per row: class0, class1, ... or cluster0, cluster1, ..."""
        prefix = "class" if self.kind == "classes" else "cluster"
        return [f"{prefix}{k}" for k in range(self.vectors.shape[0])]

    def as_mapping(self) -> dict[str, torch.Tensor]:
        """{name: mean z} for the classes or clusters that have samples, to use in arithmetic()."""
        return {name: vector for name, vector, count in zip(self.names, self.vectors, self.counts) if count > 0}


def latent_means(generator: nn.Module, latent_dim: int, classify: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 num_classes: int = 0, samples: int = 2000, seed: int = 0) -> LatentMeans:
    """Mean z per class (classify: images -> predicted classes (B,), num_classes of them) over `samples` seeded
    z, or without classify per cluster of a self-conditioned G (read off z[:, 0]). ValueError when neither."""
    if not isinstance(samples, int) or not 10 <= samples <= 100_000:
        raise ValueError(f"samples={samples!r} is invalid: allowed an integer from 10 to 100000")
    z = torch.randn(samples, latent_dim, generator=torch.Generator().manual_seed(seed))
    codes = latent_codes(generator)
    if classify is not None:
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} is invalid: allowed the classifier's class count (>= 1)")
        groups, kind, count = classify(generate(generator, z)).long().cpu(), "classes", num_classes
    elif codes.kind == "clusters":
        groups, kind, count = generator.clusters_for(z.to(_device(generator))).cpu(), "clusters", codes.count
    else:
        raise ValueError("class means need a classifier (an evaluator for this data set) or a self-conditioned "
                         "generator (model.clusters > 0)")
    counts = torch.bincount(groups, minlength=count)[:count]
    sums = torch.zeros(count, latent_dim, dtype=torch.float64).index_add_(0, groups.clamp(0, count - 1), z.double())
    vectors = (sums / counts.unsqueeze(1).double()).float()  # 0 / 0 = NaN marks an empty class
    return LatentMeans(vectors, counts, kind)


def _device(generator: nn.Module) -> torch.device:
    return next(generator.parameters()).device


def parse_expression(expression: str, names: Mapping[str, object]) -> list[tuple[float, str]]:
    """Terms (weight, name) of an expression such as "class7 - class1 + 0.5*class4" over the given names.

    ValueError naming the expression and the allowed names for anything else."""
    text, terms, position = str(expression), [], 0
    allowed = ", ".join(sorted(names)[:12]) + (", ..." if len(names) > 12 else "")
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or (terms and not match.group(1)):
            raise ValueError(f"expression={text!r} is invalid at character {position + 1}: allowed names joined "
                             f"by + and -, each with an optional weight (e.g. 2*{next(iter(names), 'name')}); "
                             f"names: {allowed}")
        sign, weight, name = match.groups()
        if name not in names:
            raise ValueError(f"expression={text!r} names {name!r}: allowed {allowed}")
        terms.append(((-1.0 if sign == "-" else 1.0) * (float(weight) if weight else 1.0), name))
        position = match.end()
    if not terms:
        raise ValueError(f"expression={text!r} is empty: allowed names joined by + and - ({allowed})")
    return terms


def arithmetic(expression: str, vectors: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The latent an expression over named latents stands for, e.g. "z + class7 - class1": (latent_dim,)."""
    terms = parse_expression(expression, vectors)
    return sum(weight * vectors[name].float() for weight, name in terms)


def class_mix(class_a: int, class_b: int, count: int, steps: int) -> torch.Tensor:
    """Soft class labels (steps, count) going from class_a (one-hot) to class_b (one-hot) in even steps."""
    for name, value in (("class_a", class_a), ("class_b", class_b)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
            raise ValueError(f"{name}={value!r} is invalid: allowed an integer from 0 to {count - 1}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= MAX_MORPH_STEPS:
        raise ValueError(f"steps={steps!r} is invalid: allowed an integer from 2 to {MAX_MORPH_STEPS}")
    t = torch.linspace(0.0, 1.0, steps).unsqueeze(1)
    eye = torch.eye(count)
    return (1 - t) * eye[class_a] + t * eye[class_b]


def class_morph(generator: nn.Module, z: torch.Tensor, class_a: int, class_b: int, steps: int = 9) -> torch.Tensor:
    """Images (steps, C, H, W) of one z (latent_dim,) as its class vector moves from class_a to class_b: a
    conditional G's classes, or a self-conditioned G's clusters. ValueError for an unconditional G."""
    codes = latent_codes(generator)
    if codes.kind == "none":
        raise ValueError("class morphs need a conditional generator (model.conditional) or a self-conditioned one "
                         "(model.clusters > 0)")
    mix = class_mix(class_a, class_b, codes.count, steps)
    return generate(generator, z.reshape(1, -1).expand(steps, -1).contiguous(), labels=mix)


def projection_walk(generator: nn.Module, projection: Projection, first: int, second: int, steps: int = 9,
                    method: str = "slerp") -> tuple[torch.Tensor, torch.Tensor]:
    """A walk between two projected images through their latents: (latents (steps, latent_dim), images).

    A conditional G's class vector is mixed along the way when the two classes differ; a self-conditioned G
    reads its cluster off each z, as in the explorer's walks."""
    count = projection.latents.shape[0]
    for name, value in (("first", first), ("second", second)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
            raise ValueError(f"{name}={value!r} is invalid: allowed an integer from 0 to {count - 1}")
    path = interpolate(projection.latents[first], projection.latents[second], steps, method)
    labels = None
    if projection.label_kind == "classes":
        classes = latent_codes(generator).count
        labels = class_mix(int(projection.labels[first]), int(projection.labels[second]), classes, steps)
    return path, generate(generator, path, labels=labels)
