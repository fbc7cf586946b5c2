"""Memorisation check (#12 item 5): is the generator copying its training images?

In the evaluator's feature space (evaluate.Evaluator.features, 128-d), each generated image's nearest
training images and their distances; and one number for the run, the nearest-neighbour distance ratio:
median distance from generated images to their nearest training image over the same median for held-out
real images. About 1 means generated images sit as far from the training set as unseen real images do;
well below 1 means they sit on top of training images (copies).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK = 1024  # query rows per distance block: (CHUNK, N) float64 stays small for N of a few 10k


@dataclass(frozen=True)
class Neighbours:
    """For each query (Q rows): the indices (Q, k) of its nearest training features and their distances."""

    indices: torch.Tensor
    distances: torch.Tensor


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


def distance_ratio(generated: torch.Tensor, training: torch.Tensor, held_out: torch.Tensor) -> float:
    """Median nearest-training distance of generated features over that of held-out real features."""
    generated_median = nearest_training(generated, training, k=1).distances[:, 0].median()
    held_out_median = nearest_training(held_out, training, k=1).distances[:, 0].median()
    if held_out_median <= 0:
        raise ValueError("held-out features coincide with training features: the ratio is undefined")
    return float(generated_median / held_out_median)
