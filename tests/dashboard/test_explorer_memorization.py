"""The latent explorer's memorisation check: a sample beside its 5 nearest training images and the run's
distance ratio after the button; a plain message when the data set has no evaluator."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.support.pages import open_in_explorer
from tests.support.runs import train_tiny_run

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "error") for e in getattr(at, kind)]


def test_the_check_shows_five_neighbours_and_the_ratio_after_the_button(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "digits-run", "data.name=digits"))
    assert not at.metric and not any(c.startswith("seed ") for image in at.image for c in image.captions)
    at.selectbox(key="explore.memo_seed").set_value(3).run()
    at.button(key="explore.memo_check").click().run()
    assert not at.exception
    captions = [caption for image in at.image for caption in image.captions]
    distances = [float(c.replace("\\", "")) for c in captions if c[:1].isdigit()]  # plain() escapes the dot: 8\.39
    assert len(distances) == 5 and distances == sorted(distances) and distances[0] > 0
    assert "seed 3" in captions
    ratio = float(at.metric[0].value)
    assert at.metric[0].label == "Distance ratio" and 0 < ratio < 100
    assert any("Near 1" in text for text in _texts(at))
    # Another seed of the grid: its own neighbours at once, the same ratio (cached per generator).
    at.selectbox(key="explore.memo_seed").set_value(5).run()
    assert "seed 5" in [c for image in at.image for c in image.captions] and float(at.metric[0].value) == ratio


def test_a_data_set_without_labels_gets_a_plain_message(runs_root, tmp_path):
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(30):  # images straight in the folder: no class subfolders, so no labels
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / f"{index}.png")
    at = open_in_explorer(train_tiny_run(tmp_path / "folder-run", "data.name=folder", f"data.path={folder}",
                         "data.image_size=8", "data.channels=1"))
    at.button(key="explore.memo_check").click().run()
    assert not at.exception and not at.metric
    assert any("No memorisation check for this generator" in text and "no labels" in text
               for text in (e.value for e in at.info)), [e.value for e in at.info]
