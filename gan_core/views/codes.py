"""What a generator needs besides z: nothing, a class label (conditional G) or a cluster read off z[:, 0]
(the self-conditioned default), and how to keep a latent inside one cluster's slice of z[:, 0]."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

# A cluster's slice of Phi(z0) is shrunk by this share on both sides (at least _MIN_MARGIN), so float32 rounding
# in clusters_from_noise never reads a latent at the edge as the neighbouring cluster.
_EDGE_SHARE = 1e-3
_MIN_MARGIN = 2e-6


@dataclass(frozen=True)
class LatentCodes:
    """The discrete choice a generator makes besides z: kind "none", "classes" or "clusters", and how many."""

    kind: str
    count: int  # classes or clusters (0 for "none")
    lower: torch.Tensor | None = None  # clusters: (K,) float64 lower end of each cluster's Phi(z0) slice, margin in
    upper: torch.Tensor | None = None  # clusters: (K,) float64 upper end

    def usable(self) -> list[int]:
        """The codes a search may try: every class, or the clusters whose slice is wide enough to hold a z0."""
        if self.kind == "classes":
            return list(range(self.count))
        if self.kind == "clusters":
            return [k for k in range(self.count) if float(self.upper[k]) > float(self.lower[k])]
        return []


def latent_codes(generator: nn.Module) -> LatentCodes:
    """The LatentCodes of a generator: a self-conditioned G's clusters (with their z0 slices), a conditional G's
    classes, or none (an unconditional or 2D point generator)."""
    edges = getattr(generator, "cluster_edges", None)
    if isinstance(edges, torch.Tensor) and hasattr(generator, "clusters_for"):
        edges = edges.detach().double().cpu()
        starts = torch.cat([torch.zeros(1, dtype=torch.float64), edges[:-1]])
        # Clusters after the first edge at the total are never picked (clusters_from_noise): give them no slice.
        first_full = int((edges < edges[-1]).sum())
        margin = torch.clamp((edges - starts) * _EDGE_SHARE, min=_MIN_MARGIN)
        lower, upper = starts + margin, edges - margin
        upper[first_full + 1:] = lower[first_full + 1:]
        return LatentCodes("clusters", int(edges.numel()), lower, upper)
    classes = int(getattr(generator, "num_classes", 0) or 0)
    return LatentCodes("classes", classes) if classes else LatentCodes("none", 0)


def normal_quantile(uniform: torch.Tensor) -> torch.Tensor:
    """Phi^-1: the standard normal quantile of values in (0, 1), elementwise."""
    return math.sqrt(2.0) * torch.erfinv(2.0 * uniform - 1.0)


def normal_cdf(values: torch.Tensor) -> torch.Tensor:
    """Phi: the standard normal CDF, elementwise."""
    return 0.5 * (1.0 + torch.erf(values / math.sqrt(2.0)))


def z0_in_cluster(codes: LatentCodes, clusters: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """z0 (B,) at relative position share (B,) in [0, 1] of each cluster's slice: Phi^-1(lo + share * (hi - lo)).

    Computed in float64 so the float32 result lands inside the slice."""
    lower, upper = codes.lower[clusters.cpu()], codes.upper[clusters.cpu()]
    return normal_quantile(lower + share.double().cpu() * (upper - lower)).to(share.dtype).to(share.device)


def share_in_cluster(codes: LatentCodes, clusters: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """The inverse of z0_in_cluster: each z0's relative position (B,) in its cluster's slice, clamped to [0, 1]."""
    lower, upper = codes.lower[clusters.cpu()], codes.upper[clusters.cpu()]
    width = (upper - lower).clamp(min=1e-300)
    return ((normal_cdf(z0.double().cpu()) - lower) / width).clamp(0.0, 1.0).to(z0.dtype).to(z0.device)


def generator_inputs(codes: LatentCodes, z: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """The arguments for generator(...): (z,) for an unconditional G, (z, labels) for a conditional one, and
    for a self-conditioned G (z, clusters) when clusters are given (its own forward would read them off z)."""
    if codes.kind == "none" or labels is None:
        return (z,)
    return z, labels.to(z.device)
