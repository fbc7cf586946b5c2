"""Toy data sets (shape, seeding, modes) and toy metrics on crafted samples."""

from __future__ import annotations

import math

import pytest
import torch

from gan_core.config.schema import TOY_DATASET_NAMES
from gan_core.data.toys import grid_modes, make_toy, ring_modes
from gan_core.quality.toy_metrics import divergences, mode_coverage, toy_quality

DRAWN = [[0.0, 0.0], [1.0, 1.0], [-2.0, 3.0]]


@pytest.mark.parametrize("name", TOY_DATASET_NAMES)
def test_every_toy_has_shape_and_is_seeded(name):
    a = make_toy(name, 500, seed=3, drawn=DRAWN)
    b = make_toy(name, 500, seed=3, drawn=DRAWN)
    c = make_toy(name, 500, seed=4, drawn=DRAWN)
    assert a.points.shape == (500, 2) and a.points.dtype == torch.float32 and len(a) == 500
    assert torch.equal(a.points, b.points) and not torch.equal(a.points, c.points)
    assert torch.isfinite(a.points).all() and a.points.abs().max() < 10


def test_mixtures_list_their_modes_and_points_sit_on_them():
    ring = make_toy("ring8", 4000, seed=0)
    assert ring.modes.shape == (8, 2) and ring.mode_std == 0.02
    assert torch.allclose(ring.modes.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(ring.modes[2], torch.tensor([0.0, 2.0]), atol=1e-6)
    grid = make_toy("grid25", 4000, seed=0)
    assert grid.modes.shape == (25, 2) and set(grid.modes[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    for toy in (ring, grid):  # every point within 5 std of a mode, every mode used
        covered, share = mode_coverage(toy.points, toy.modes, toy.mode_std)
        assert covered == len(toy.modes) and share > 0.98
    assert make_toy("two-moons", 10).modes is None and make_toy("spiral", 10).modes is None
    assert make_toy("gaussian", 10).modes.shape == (1, 2)


def test_drawn_points_are_vetted_by_name():
    drawn = make_toy("drawn", 3000, seed=0, drawn=DRAWN)
    nearest = torch.cdist(drawn.points, torch.tensor(DRAWN)).min(dim=1).values
    assert nearest.max() < 0.4  # blobs of std 0.05 around the user's points
    for bad, message in [([[0, 0]], "1 points: allowed 2"), ([[0, 0, 0], [1, 1, 1]], "shape"),
                         ([[0, 0], [float("nan"), 1]], "finite"), ([[0, 0], [50, 1]], "within"),
                         ("abc", "invalid"), (None, "shape \\(0,\\)")]:
        with pytest.raises(ValueError, match=f"data.points.*{message}|{message}.*data.points"):
            make_toy("drawn", 10, drawn=bad)
    with pytest.raises(ValueError, match="data.name='moons' is invalid: allowed one of ring8"):
        make_toy("moons")
    with pytest.raises(ValueError, match="data.limit=0 is invalid"):
        make_toy("ring8", 0)


def test_mode_metrics_on_crafted_samples():
    modes = ring_modes()
    all_modes = modes.repeat(50, 1) + 0.01 * torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    assert mode_coverage(all_modes, modes, 0.02) == (8, 1.0)
    one_mode = modes[3].repeat(400, 1)
    assert mode_coverage(one_mode, modes, 0.02) == (1, 1.0)
    noise = torch.rand(4000, 2, generator=torch.Generator().manual_seed(1)) * 6 - 3
    covered, share = mode_coverage(noise, modes, 0.02)
    assert share < 0.01 and covered == 0  # 8 discs of radius 0.06 cover ~0.25% of the square
    mostly_one = torch.cat([modes[0].repeat(995, 1), modes[1].repeat(5, 1)])  # 0.5% on mode 1: not covered
    assert mode_coverage(mostly_one, modes, 0.02) == (1, 1.0)
    grid = grid_modes()
    assert mode_coverage(grid.repeat(4, 1), grid, 0.05)[0] == 25


def test_divergences_are_zero_for_the_same_set_and_order_sets_by_distance():
    real = make_toy("ring8", 5000, seed=0).points
    same = divergences(real, real)
    assert same == (pytest.approx(0.0, abs=1e-9), pytest.approx(0.0, abs=1e-9))
    resampled = divergences(real, make_toy("ring8", 5000, seed=1).points)
    collapsed = divergences(real, ring_modes()[0].repeat(5000, 1))
    noise = divergences(real, torch.rand(5000, 2, generator=torch.Generator().manual_seed(0)) * 4 - 2)
    # JS is bounded by log 2 and saturates once the sets barely overlap; a resample stays far below both.
    assert resampled[1] < 0.1 and 0.5 < collapsed[1] <= math.log(2) and 0.5 < noise[1] <= math.log(2)
    assert resampled[0] < 0.2 < collapsed[0] and 0.2 < noise[0]


def test_toy_quality_rows_have_nan_for_sets_without_modes():
    ring = make_toy("ring8", 2000, seed=0)
    quality = toy_quality(ring.points, ring.points[:1000], ring.modes, ring.mode_std)
    assert (quality.modes_covered, quality.modes_total) == (8, 8) and quality.js < 0.05
    moons = make_toy("two-moons", 1000, seed=0)
    row = toy_quality(moons.points, moons.points, None, 0.0).row()
    assert math.isnan(row["modes_covered"]) and math.isnan(row["high_quality_share"]) and row["js"] < 1e-9
