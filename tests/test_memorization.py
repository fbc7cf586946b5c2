"""Nearest training images in feature space, and the generated-to-held-out distance ratio."""

from __future__ import annotations

import pytest
import torch

from gan_core.memorization import distance_ratio, nearest_training


def _features(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_a_training_image_finds_itself_first_at_distance_zero():
    training = _features(3000, 0)  # more than one distance block
    found = nearest_training(training[[5, 2500]], training, k=3)
    assert found.indices[:, 0].tolist() == [5, 2500] and found.distances[:, 0].tolist() == [0.0, 0.0]
    assert (found.distances[:, 1:] > 0).all() and (found.distances.diff(dim=1) >= 0).all()


def test_exclude_self_returns_the_next_neighbour():
    training = torch.tensor([[0.0], [1.0], [3.0]])
    found = nearest_training(training, training, k=1, exclude_self=True)
    assert found.indices[:, 0].tolist() == [1, 0, 1] and found.distances[:, 0].tolist() == [1.0, 1.0, 2.0]


def test_ratio_is_near_one_for_fresh_samples_and_near_zero_for_copies():
    training, held_out, fresh = _features(2000, 0), _features(500, 1), _features(500, 2)
    assert distance_ratio(fresh, training, held_out) == pytest.approx(1.0, abs=0.1)
    copies = training[:500] + 1e-3 * _features(500, 3)
    assert distance_ratio(copies, training, held_out) < 0.01


def test_mismatched_features_are_refused():
    with pytest.raises(ValueError, match="same F"):
        nearest_training(torch.zeros(2, 3), torch.zeros(4, 5))
