"""Self-conditioning (Liu et al. 2020, "Diverse Image Generation via Self-Conditioned GANs"): k-means
clusters of the training images stand in for class labels, so G and D can be conditioned without any.

The clusters are fitted once per run, on the CPU, from the seed: every rank of a torchrun job and every
resume of a run computes the same ones. G reads its cluster off z (models.SelfConditionedGenerator), so
a self-conditioned G still maps z alone to an image and samples in the data's cluster shares.
"""

from __future__ import annotations

import math

import torch

FIT_IMAGES = 10_000  # k-means is fitted on at most this many images (a seeded subset), then assigns all
ITERATIONS = 20  # Lloyd iterations; on mnist5k (50 clusters) 70 of 5,000 assignments still move after 20 (vs 200)
CHUNK = 8192  # rows per distance block, so a large data set never holds its whole (N, K) distance matrix
MIN_IMAGES_PER_CLUSTER = 20  # a small upload gets fewer clusters: N // 20, and one (plain GAN) under 40 images


def effective_clusters(requested: int, count: int) -> int:
    """The clusters a set of `count` images gets for model.clusters = requested: at most one per 20 images."""
    return max(1, min(requested, count // MIN_IMAGES_PER_CLUSTER))


def _nearest(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index of each point's nearest centre, (N,) int64, in blocks of CHUNK rows."""
    centre_norms = (centres * centres).sum(dim=1)  # (K,)
    out = []
    for block in points.split(CHUNK):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; ||x||^2 is the same for every centre, so it is left out.
        out.append((centre_norms.unsqueeze(0) - 2.0 * block @ centres.T).argmin(dim=1))
    return torch.cat(out)


def kmeans_labels(images: torch.Tensor, clusters: int, seed: int = 0) -> torch.Tensor:
    """Cluster index of every image, (N,) int64 in [0, clusters): k-means++ then Lloyd, in pixel space."""
    count = images.shape[0]
    if not 1 <= clusters <= count:
        raise ValueError(f"model.clusters={clusters} is invalid for a data set of {count} images: allowed 1 to "
                         f"{count}, or 0 for no self-conditioning")
    if clusters == 1:
        return torch.zeros(count, dtype=torch.int64)
    points = images.detach().to("cpu", torch.float32).reshape(count, -1)  # (N, C*H*W)
    generator = torch.Generator().manual_seed(seed)
    fit = points
    if count > FIT_IMAGES:
        fit = points[torch.randperm(count, generator=generator)[:FIT_IMAGES]]
    # k-means++: each next centre drawn with probability proportional to its squared distance.
    norms = (fit * fit).sum(dim=1)  # (M,)

    def squared_distance(centre: torch.Tensor) -> torch.Tensor:  # (1, D) -> (M,), as a matrix-vector product
        return norms - 2.0 * (fit @ centre.T).squeeze(1) + (centre * centre).sum()

    centres = fit[torch.randint(fit.shape[0], (1,), generator=generator)]  # (1, D)
    nearest = squared_distance(centres)  # (M,) squared distance to the closest centre so far
    for _ in range(1, clusters):
        weights = nearest.clamp(min=0)
        weights = weights if float(weights.sum()) > 0 else torch.ones_like(weights)
        pick = fit[torch.multinomial(weights, 1, generator=generator)]  # (1, D)
        centres = torch.cat([centres, pick])
        nearest = torch.minimum(nearest, squared_distance(pick))
    for _ in range(ITERATIONS):
        assign = _nearest(fit, centres)  # (M,)
        sums = torch.zeros_like(centres).index_add_(0, assign, fit)  # (K, D)
        sizes = torch.bincount(assign, minlength=clusters).unsqueeze(1)  # (K, 1)
        # An emptied cluster keeps its old centre rather than becoming NaN.
        moved = torch.where(sizes > 0, sums / sizes.clamp(min=1), centres)
        if torch.equal(moved, centres):
            break
        centres = moved
    return _nearest(points, centres)


def cluster_shares(labels: torch.Tensor, clusters: int) -> torch.Tensor:
    """Each cluster's share of the images, (K,) float32 summing to 1."""
    counts = torch.bincount(labels.long().cpu(), minlength=clusters).float()
    return counts / counts.sum()


def clusters_from_noise(z: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The cluster a z (B, latent_dim) stands for, (B,) int64: z's first coordinate through the normal CDF is
    uniform on (0, 1), and the cumulative shares `edges` (K,) cut that interval into one piece per cluster,
    so z ~ N(0, I) picks cluster k with probability share k. Clusters of share 0 (after the last edge to
    reach the total) are never picked, even where the CDF rounds to 1."""
    edges = edges.float().contiguous()
    uniform = 0.5 * (1.0 + torch.erf(z[:, 0].float() / math.sqrt(2.0)))  # (B,)
    index = torch.searchsorted(edges, uniform.contiguous(), right=True)
    # The first edge at the total is the last cluster with a share; kept a tensor, so no host sync per step.
    last_used = (edges < edges[-1]).sum()
    return torch.minimum(index, last_used)
