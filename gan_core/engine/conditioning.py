"""How a run conditions its networks: not at all, on the data's classes, or on k-means clusters of the images.

The Trainer's D and G phases ask one strategy for the extra inputs of real and fake batches and never branch
on the mode themselves. Each input is a tuple: () for an unconditional run, (labels (B,),) otherwise, so a
call reads `G(z, *fake_labels)` and `D(images, *labels)` in every mode.
"""

from __future__ import annotations

import torch
from torch import nn


class Unconditioned:
    """An unconditional GAN: G(z) and D(x), no labels."""

    num_classes = 0
    """The class embeddings' size (0: none)."""

    def real_labels(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The extra inputs of the real images at indices (B,)."""
        return ()

    def fake_labels(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The extra inputs of the fakes made from z (B, latent_dim)."""
        return ()


class ClassConditioned(Unconditioned):
    """A class-conditional GAN on a labelled set: the reals' own labels; fake labels drawn after z from the noise
    RNG in the data's class shares, so D sees real and fake classes alike and a resumed run draws the same."""

    def __init__(self, labels: torch.Tensor, noise_rng: torch.Generator) -> None:
        self.labels = labels.long()  # (N,) int64 on the training device
        self.num_classes = int(self.labels.max()) + 1
        self.class_shares = torch.bincount(self.labels, minlength=self.num_classes).float()
        self.class_shares /= self.class_shares.sum()  # (K,)
        self.noise_rng = noise_rng

    def real_labels(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(the data's labels at indices,)"""
        return (self.labels.index_select(0, indices),)

    def fake_labels(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(labels (B,) drawn in the class shares,)"""
        return (torch.multinomial(self.class_shares, z.shape[0], replacement=True, generator=self.noise_rng),)


class SelfConditioned(Unconditioned):
    """Self-conditioning (model.clusters): each real image's k-means cluster stands in for its label, and a fake's
    cluster is the one G reads off its z (nets/clusters.py), so G still samples from z alone."""

    def __init__(self, cluster_labels: torch.Tensor, generator: nn.Module) -> None:
        self.cluster_labels = cluster_labels  # (N,) int64, the same on every rank
        self.generator = generator  # the unwrapped SelfConditionedGenerator, whose cluster shares decide

    def real_labels(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(the reals' clusters,)"""
        return (self.cluster_labels.index_select(0, indices),)

    def fake_labels(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(the clusters G reads off z,)"""
        return (self.generator.clusters_for(z),)
