"""The latent explorer's class picker for a class-conditional generator (#12 item 1): one class for every
sample, interpolation within a class, and one seed drawn as each class."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.pages import open_in_explorer
from tests.support.runs import train_tiny_run

pytestmark = pytest.mark.timeout(300)


def _captions(at) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


@pytest.mark.apptest
def test_a_conditional_generator_gets_a_class_picker_and_a_strip_through_every_class(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "cond", "data.name=digits", "model.conditional=true"))
    picker = at.selectbox(key="explore.class")
    assert picker.options == ["each class in turn", *map(str, range(10))]
    assert "seed 0 as each class, 0 to 9" in _captions(at)
    in_turn = next(c for c in _captions(at) if c.startswith("seeds 0..15"))
    picker.set_value(3).run()
    assert not at.exception
    captions = _captions(at)
    assert "seeds 0..15, class 3" in captions and in_turn not in captions
    assert "slerp, 8 steps from seed 1 to seed 2" in captions


@pytest.mark.apptest
def test_an_unconditional_generator_has_no_class_picker(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "plain", "data.name=digits"))
    assert not [box for box in at.selectbox if box.key == "explore.class"]
    assert not [c for c in _captions(at) if "as each class" in c]


def test_the_grid_and_the_class_strip_draw_the_requested_classes():
    import torch

    from dashboard.resources import cached_class_strip, cached_grid
    from gan_core.config.schema import ModelConfig
    from gan_core.nets.models import build_models

    torch.manual_seed(0)
    generator, _ = build_models(ModelConfig(latent_dim=8, hidden_dim=16, depth=1, conditional=True), (1, 8, 8), 4)
    seeds = tuple(range(4))
    in_turn = cached_grid(generator, ("test", 1), seeds, 8)
    as_class = {k: cached_grid(generator, ("test", 1), seeds, 8, k) for k in range(4)}
    # Classes in turn give seed i the class i: the tile of seed 2 equals that tile when every seed is class 2.
    def tile(grid, index, columns=2):  # 8x8 tiles with 2 px padding; 4 seeds lay out as 2 x 2
        row, column = divmod(index, columns)
        found = grid[2 + row * 10: 10 + row * 10, 2 + column * 10: 10 + column * 10]
        assert found.shape[:2] == (8, 8)
        return found

    assert np.array_equal(tile(in_turn, 2), tile(as_class[2], 2))
    assert not np.array_equal(tile(in_turn, 1), tile(as_class[2], 1))
    assert not np.array_equal(as_class[1], as_class[3])
    strip = cached_class_strip(generator, ("test", 1), 5, 8, 4)  # one seed as classes 0..3, in a row
    assert strip.shape[1] == 4 * 10 + 2
    assert np.array_equal(tile(strip, 3, columns=4), tile(cached_grid(generator, ("test", 1), (5,), 8, 3), 0))
