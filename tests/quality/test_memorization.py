"""Nearest training images in feature space, and the generated-to-held-out distance ratio."""

from __future__ import annotations

import pytest
import torch

from gan_core.config.schema import DataConfig
from gan_core.data.datasets import load_dataset
from gan_core.quality.evaluator import Evaluator
from gan_core.quality.memorization import (held_out_count, nearest_medians, held_out_split, nearest_training,
                                           nearest_training_images, run_distance_ratio, training_features)


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
    generated_median, held_out_median = nearest_medians(fresh, training, held_out)
    assert generated_median / held_out_median == pytest.approx(1.0, abs=0.1)
    copies = training[:500] + 1e-3 * _features(500, 3)
    generated_median, held_out_median = nearest_medians(copies, training, held_out)
    assert generated_median / held_out_median < 0.01


def test_mismatched_features_are_refused():
    with pytest.raises(ValueError, match="same F"):
        nearest_training(torch.zeros(2, 3), torch.zeros(4, 5))


# ---- with the evaluator's features, on scikit-learn's digits ----------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """The digits set, its evaluator (trained once into the test cache) and its training features."""
    config = DataConfig(name="digits")
    dataset = load_dataset(config)
    evaluator = Evaluator.for_data(config, dataset=dataset)
    return dataset.images, evaluator, training_features(evaluator, dataset.images)


def test_nearest_training_images_returns_the_training_image_itself(digits):
    images, evaluator, features = digits
    found = nearest_training_images(evaluator, features, images[[7, 1234]], k=5)
    assert found.indices.shape == (2, 5) and found.indices[:, 0].tolist() == [7, 1234]
    # ~0, not exactly 0: the evaluator's float32 convolutions round differently for a batch of 2 than of 500.
    assert (found.distances[:, 0] < 1e-4).all() and (found.distances[:, 1:] > 0.1).all(), found.distances


def test_training_features_are_the_evaluators_cache_or_recomputed(digits):
    images, evaluator, features = digits
    assert features is evaluator.real_features or torch.equal(features, evaluator.real_features)
    reordered = images.flip(0)  # another order: the cached rows no longer match, so they are recomputed
    assert torch.allclose(training_features(evaluator, reordered), features.flip(0), atol=1e-6)


def test_held_out_split_is_seeded_disjoint_and_complete():
    reference, held_out = held_out_split(1797)
    again = held_out_split(1797)
    assert torch.equal(reference, again[0]) and torch.equal(held_out, again[1])
    assert held_out.numel() == held_out_count(1797) == 180
    assert torch.equal(torch.cat([reference, held_out]).sort().values, torch.arange(1797))
    assert not torch.equal(held_out, held_out_split(1797, seed=1)[1])
    assert held_out_count(50_000) == 1000


def test_run_ratio_is_one_for_unseen_real_digits_and_far_below_for_copies(digits):
    images, evaluator, features = digits
    # 1,500 shuffled digits are the "training set"; the other 297 were never in it: real, fresh images.
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    train_images, train_features, unseen = images[order[:1500]], features[order[:1500]], images[order[1500:]]
    fresh = run_distance_ratio(evaluator, train_features, unseen)
    assert fresh.generated == 297 and fresh.held_out == 150 and fresh.reference == 1350
    assert 0.85 < fresh.ratio < 1.15, fresh
    noise = 0.01 * torch.randn(300, *images.shape[1:], generator=torch.Generator().manual_seed(0))
    copies = (train_images[:300] + noise).clamp(-1, 1)  # a generator that copies training images
    assert run_distance_ratio(evaluator, train_features, copies).ratio < 0.2
