"""The latent explorer's tools of #29 on a checkpoint (AppTest, tiny runs): projection of training images and of
a drawing with its result kept, a walk between two projected images, directions with sliders and a strip, class
or cluster means with arithmetic, class morphs, a 2D run's point; bad input gets a message beside its widget."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.support.pages import open_in_explorer, unescaped
from tests.support.runs import train_tiny_run

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _captions(at: AppTest) -> list[str]:
    return [unescaped(caption) for image in at.image for caption in image.captions]


def _texts(at: AppTest) -> list[str]:
    return [unescaped(caption.value) for caption in at.caption]


def _errors(at: AppTest) -> str:
    return unescaped(" ".join(error.value for error in at.error))


def _tool(at: AppTest, tool: str) -> None:
    at.radio(key="explore.tool").set_value(tool).run()
    assert not at.exception, at.exception


def test_projection_of_training_images_and_a_drawing_is_kept_and_walks_between_them(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "run", "data.name=digits", "model.clusters=3"))
    _tool(at, "Project an image")
    at.checkbox(key="explore.project.features").uncheck()
    at.number_input(key="explore.project.steps").set_value(10)
    at.number_input(key="explore.project.restarts").set_value(1)
    at.text_input(key="explore.project.indices").set_value("0, 1, 99999").run()
    assert "Training images='0, 1, 99999' is invalid" in _errors(at)  # beside the field
    assert at.button(key="explore.project.run").disabled
    at.text_input(key="explore.project.indices").set_value("0, 1").run()
    assert not at.error and not at.button(key="explore.project.run").disabled
    at.button(key="explore.project.run").click().run()
    assert not at.exception, at.exception
    captions = _captions(at)
    assert any(c.startswith("target: image 0 (label ") for c in captions), captions
    assert captions.count("reconstruction") == 2, captions
    reconstruction = [unescaped(c.value) for c in at.caption if unescaped(c.value).startswith("cluster ")]
    assert len(reconstruction) == 2 and "pixel MSE" in reconstruction[0], reconstruction
    assert any(c.startswith("the path: the winning start at steps 0, ") for c in captions), captions
    assert any("slerp from image 0" in c and "through their latents" in c for c in captions), captions
    assert any(unescaped(c.value).startswith("Projection made at step 3; loss: pixel MSE only") for c in at.caption)
    assert "Download the latents (.npy, for `sample --z`)" in [b.label for b in at.get("download_button")]
    # Another tool and back: the projection is still there (made on request, kept until the next).
    _tool(at, "Directions")
    _tool(at, "Project an image")
    assert [unescaped(c.value) for c in at.caption if unescaped(c.value).startswith("cluster ")] == reconstruction
    # A drawing as the canvas sends it: a bar, 8x8 like the digits; a drawing of another size is refused.
    at.session_state["explore.drawing"] = {"width": 8, "height": 8, "pixels": [255 if 3 <= i % 8 <= 4 else 0
                                                                               for i in range(64)]}
    at.radio(key="explore.project.source").set_value("Draw").run()
    assert not at.exception and not at.error and "the drawing" in _captions(at)
    at.session_state["explore.drawing"] = {"width": 28, "height": 28, "pixels": [0] * 784}
    at.run()
    assert "the drawing is 28x28 pixels: allowed 8x8" in _errors(at)


def test_uploads_of_the_wrong_size_or_kind_are_refused_beside_the_uploader():
    from dashboard.ui.targets import MAX_PAGE_TARGETS, drawn_target, npy_targets, uploaded_targets

    def png(size: tuple[int, int], mode: str = "L") -> bytes:
        out = io.BytesIO()
        Image.new(mode, size, 128).save(out, "PNG")
        return out.getvalue()

    shape = (1, 8, 8)
    assert uploaded_targets([("a.png", png((8, 8)))], shape).shape == (1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"a.png is 28x28 pixels: allowed 8x8"):
        uploaded_targets([("a.png", png((28, 28)))], shape)
    colour = io.BytesIO()
    Image.fromarray(np.arange(192, dtype=np.uint8).reshape(8, 8, 3)).save(colour, "PNG")
    with pytest.raises(ValueError, match=r"c.png has 3 colour channels: allowed 1"):
        uploaded_targets([("c.png", colour.getvalue())], shape)
    with pytest.raises(ValueError, match=r"not an image that can be read"):
        uploaded_targets([("b.png", b"not a png")], shape)

    def npy(array: np.ndarray) -> bytes:
        out = io.BytesIO()
        np.save(out, array)
        return out.getvalue()

    with pytest.raises(ValueError, match=r"allowed 1 to 8 per projection"):
        npy_targets("many.npy", npy(np.zeros((MAX_PAGE_TARGETS + 1, 1, 8, 8), np.float32)), shape)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 8, 8\): allowed N x 1 x 8 x 8"):
        npy_targets("rgb.npy", npy(np.zeros((2, 3, 8, 8), np.float32)), shape)
    with pytest.raises(ValueError, match=r"NaN|finite"):
        npy_targets("nan.npy", npy(np.full((1, 1, 8, 8), np.nan, np.float32)), shape)
    with pytest.raises(ValueError, match=r"holds object values"):
        npy_targets("object.npy", npy(np.array([None, 1], dtype=object)), shape)
    with pytest.raises(ValueError, match=r"the drawing is blank"):
        drawn_target({"width": 8, "height": 8, "pixels": [0] * 64}, shape)


def test_directions_move_a_sample_and_refuse_an_index_out_of_range(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "run", "model.clusters=3"))
    _tool(at, "Directions")
    sliders = [s for s in at.slider if s.key and s.key.startswith("explore.dir.move")]
    assert len(sliders) == 5 and sliders[0].label.startswith("Direction 0 (strength ")
    # A self-conditioned G's directions leave z[0] alone: a move stays in the sample's cluster.
    assert any("leave z[0] alone" in unescaped(c.value) for c in at.caption)
    assert "not moved yet" in _texts(at)
    at.slider(key="explore.dir.move1").set_value(2.0).run()
    assert "+2 along 1" in _texts(at)
    at.radio(key="explore.dir.method").set_value("PCA").run()
    assert not at.exception
    assert any(c.startswith("pca direction 0, from -3 to +3") for c in _captions(at)), _captions(at)
    at.number_input(key="explore.dir.index").set_value(99).run()
    assert "Direction=99 is invalid: allowed an integer from 0 to " in _errors(at), _errors(at)
    assert not any(b.label == "Download the strip (PNG)" for b in at.get("download_button"))
    at.number_input(key="explore.dir.index").set_value(2).run()
    assert not at.error and any(b.label == "Download the strip (PNG)" for b in at.get("download_button"))
    # Back to the seeds and again: the sliders kept their values.
    _tool(at, "Seeds and walks")
    _tool(at, "Directions")
    assert at.slider(key="explore.dir.move1").value == 2.0


def test_cluster_means_add_up_and_a_bad_expression_is_refused_beside_it(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "run", "model.clusters=3"))
    _tool(at, "Arithmetic and morphs")
    assert any(c.startswith("seed 0, its cluster vector mixed from cluster 0 to cluster 1") for c in _captions(at))
    at.button(key="explore.arith.means").click().run()
    assert not at.exception, at.exception
    means = [c for c in _captions(at) if c.startswith("the mean z of each cluster: ")]
    assert means and "made at step 3" in means[0], _captions(at)
    expression = at.text_input(key="explore.arith.expression")
    assert expression.value.startswith("z + cluster")
    expression.set_value("z + cluster0 - 0.5*cluster2").run()
    assert "z + cluster0 - 0.5*cluster2" in _texts(at)
    at.text_input(key="explore.arith.expression").set_value("z + class9").run()
    assert "expression='z + class9' names 'class9': allowed cluster0, cluster1, cluster2, z" in _errors(at)


def test_a_conditional_generator_morphs_between_classes(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "cond", "data.name=digits", "model.conditional=true"))
    _tool(at, "Arithmetic and morphs")
    assert any("takes its class as an input beside z" in unescaped(i.value) for i in at.info)
    at.selectbox(key="explore.morph.b").set_value(7)
    at.number_input(key="explore.morph.steps").set_value(5).run()
    assert any(c.startswith("seed 0, its class vector mixed from class 0 to class 7") for c in _captions(at))
    assert any(b.label == "Download the morph (PNG)" for b in at.get("download_button"))


def test_a_2d_run_finds_the_latent_of_a_point(runs_root, tmp_path):
    at = open_in_explorer(train_tiny_run(tmp_path / "toy", "data.name=ring8", "data.limit=256"))
    assert any("draws 2D points" in unescaped(i.value) for i in at.info)
    at.number_input(key="explore.point.x").set_value(0.5)
    at.button(key="explore.point.run").click().run()
    assert not at.exception, at.exception
    caption = next(c for c in _captions(at) if c.startswith("real points"))
    assert "the target (0.5, 0) in red" in caption and "made at step 3" in caption, caption
