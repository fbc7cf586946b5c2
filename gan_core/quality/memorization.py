"""Memorisation check (#12 item 5): is the generator copying its training images?

In the evaluator's feature space (evaluate.Evaluator.features, 128-d), each generated image's nearest
training images and their distances; and one number for the run, the nearest-neighbour distance ratio:
median distance from generated images to their nearest image of a reference part of the training set,
over the same median for held-out real images. About 1 means generated images sit as far from the training
set as unseen real images do; well below 1 means they sit on top of training images (copies).

The held-out images come from a seeded split of the loaded training set (not torchvision's test split):
every data set has one, folders included, no second download is needed, and the images share the training
images' preprocessing. The GAN has seen the held-out part too, but the ratio only needs it unseen by the
reference part it is measured against: a copy of a reference image is at distance 0 from it, a fresh image
is as far from it as a held-out one. Medians, not means: a few outliers (a broken sample, an odd digit) do
not move the number.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK = 1024  # query rows per distance block: (CHUNK, N) float64 stays small for N of a few 10k
HELD_OUT_SHARE = 0.1  # of the training set, held out from the reference part
MAX_HELD_OUT = 1000  # held-out images (and generated samples) at most: the ratio's cost stays ~1 s
SPLIT_SEED = 0
PROBE_ROWS = 4  # rows checked before trusting the evaluator's cached real features
# (within 1e-4: float32 convolutions round a little differently for another batch size)


@dataclass(frozen=True)
class Neighbours:
    """For each query (Q rows): the indices (Q, k) of its nearest training features and their distances."""

    indices: torch.Tensor
    distances: torch.Tensor


@dataclass(frozen=True)
class RatioReport:
    """The run's nearest-neighbour distance ratio and what it is made of."""

    ratio: float
    """generated_median / held_out_median: ~1 fresh images, well below 1 copies."""
    generated_median: float
    """Median distance from a generated sample to its nearest reference image."""
    held_out_median: float
    """Median distance from a held-out real image to its nearest reference image."""
    generated: int
    """Generated samples measured."""
    reference: int
    """Training images in the reference part."""
    held_out: int
    """Real images held out from the reference part."""


def nearest_training(query: torch.Tensor, training: torch.Tensor, k: int = 5,
                     exclude_self: bool = False) -> Neighbours:
    """The k nearest rows of training (N, F) for each row of query (Q, F), by Euclidean distance."""
    if query.ndim != 2 or training.ndim != 2 or query.shape[1] != training.shape[1]:
        raise ValueError(f"features must be (Q, F) and (N, F) with the same F: got {tuple(query.shape)} "
                         f"and {tuple(training.shape)}")
    k = min(k, training.shape[0] - int(exclude_self))
    if k < 1:
        raise ValueError("the training set has too few features for a nearest neighbour")
    indices, distances = [], []
    for start in range(0, query.shape[0], CHUNK):
        # Without the matrix-product shortcut: exact zeros for identical rows (the shortcut leaves ~1e-8).
        block = torch.cdist(query[start: start + CHUNK].double(), training.double(),
                            compute_mode="donot_use_mm_for_euclid_dist")  # (chunk, N)
        if exclude_self:  # a training image's own row is at distance 0: skip it, keep the next k
            block.scatter_(1, torch.arange(start, start + block.shape[0])[:, None], float("inf"))
        d, i = block.topk(k, dim=1, largest=False)
        indices.append(i), distances.append(d)
    return Neighbours(torch.cat(indices), torch.cat(distances))


def nearest_medians(generated: torch.Tensor, training: torch.Tensor, held_out: torch.Tensor) -> tuple[float, float]:
    """(median nearest-training distance of generated rows, the same of held-out rows): their quotient is the
    distance ratio. ValueError when the held-out median is 0 (held-out rows coincide with training rows)."""
    generated_median = float(nearest_training(generated, training, k=1).distances[:, 0].median())
    held_out_median = float(nearest_training(held_out, training, k=1).distances[:, 0].median())
    if held_out_median <= 0:
        raise ValueError("held-out features coincide with training features: the ratio is undefined")
    return generated_median, held_out_median


def held_out_split(count: int, seed: int = SPLIT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """(reference indices, held-out indices) of a training set of `count` images, split by a seeded shuffle."""
    held_out = held_out_count(count)
    if count - held_out < 1:
        raise ValueError(f"{count} training images are too few to hold some out")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return order[held_out:].sort().values, order[:held_out].sort().values


def training_features(evaluator, images: torch.Tensor) -> torch.Tensor:
    """(N, 128) float64 features of the training images (N, C, H, W) in [-1, 1]: the evaluator's cached real
    features when a few probed rows show they are these images' (same set, same order), else computed."""
    cached = evaluator.real_features
    if cached.ndim == 2 and cached.shape[0] == images.shape[0] > 0:
        probe = torch.linspace(0, images.shape[0] - 1, PROBE_ROWS).long().unique()
        if torch.allclose(evaluator.features(images[probe]), cached[probe].double(), atol=1e-4):
            return cached.double()
    return evaluator.features(images)


def nearest_training_images(evaluator, features: torch.Tensor, images: torch.Tensor, k: int = 5) -> Neighbours:
    """The k nearest training images of each generated image (Q, C, H, W) in [-1, 1]: indices into the
    training set whose features (N, 128) are given, and feature distances."""
    return nearest_training(evaluator.features(images), features, k=k)


def run_distance_ratio(evaluator, features: torch.Tensor, generated_images: torch.Tensor,
                       seed: int = SPLIT_SEED) -> RatioReport:
    """The run's ratio: generated images (M, C, H, W) and the held-out real images, each measured against
    the reference part of the training set whose features (N, 128) are given."""
    reference, held_out = held_out_split(features.shape[0], seed)
    generated = evaluator.features(generated_images)
    generated_median, held_out_median = nearest_medians(generated, features[reference], features[held_out])
    return RatioReport(generated_median / held_out_median, generated_median, held_out_median,
                       int(generated.shape[0]), int(reference.numel()), int(held_out.numel()))


def held_out_count(count: int) -> int:
    """Real images held out of a training set of `count`; the ratio draws as many generated samples."""
    return min(MAX_HELD_OUT, max(1, round(count * HELD_OUT_SHARE)))
