"""Projection in the latent explorer (#29): the latent whose image comes closest to a real image (a training
image, a digit drawn on the page's canvas, or an upload), with target, reconstruction, the optimisation's path,
both distances and the class or cluster found; a walk between two projected images; a 2D run's point.

The work is gan_core's (views/projection.py, quality/latent_quality.py); inputs are vetted by dashboard/ui/targets.py.
A projection takes seconds, so it runs only on the button (with a spinner) and its result is kept, marked with
the step it was made at, until the next one (state.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from dashboard.resources import cached_dataset, cached_reference
from dashboard.ui.pictures import mark_points, sharp, wrapped_strip
from dashboard.ui.targets import MAX_PAGE_TARGETS, drawn_target, training_indices, uploaded_targets
from dashboard.ui.text import plain
from dashboard.views.explorer.canvas import digit_canvas
from dashboard.views.explorer.source import Source
from dashboard.views.explorer.state import keep_result, kept, kept_result, made_at
from gan_core.data.datasets import DataError, data_from_file
from gan_core.quality.evaluator import EvaluationUnavailable
from gan_core.quality.latent_quality import predicted_classes, project_images
from gan_core.views.latent import generate, image_grid, to_uint8, zs_from_seeds
from gan_core.views.morphs import projection_walk
from gan_core.views.point_plot import scatter_image, view_bounds
from gan_core.views.projection import Projection, output_shape, project

RESULT = "projection"
TARGETS = ("Training set", "Draw", "Upload")
ABOUT = ("Finds the z whose image comes closest to a real image, as StyleGAN2's projector does: a seeded pool of "
         "latents (every class or cluster, since a gradient cannot cross from one to the next), then Adam from the "
         "best starts. The loss is the pixel MSE plus, where the data set has labels, the distance in the features "
         "of the evaluator's classifier.")
TILE = 112  # px: a target or reconstruction on screen


@dataclass(frozen=True)
class Projected:
    """A projection made on request, as the page shows it."""

    names: list[str]
    targets: list[np.ndarray]  # (H, W, C) uint8
    reconstructions: list[np.ndarray]
    paths: list[np.ndarray]  # one strip per target: the winning start's image at each recorded step
    path_steps: tuple[int, ...]
    pixel: list[float]
    feature: list[float] | None
    found: list[str]  # "cluster 7", "class 3" or "" per target
    readings: list[str]  # "the classifier reads 7 -> 7" or ""
    loss: str  # what the loss was made of
    projection: Projection  # the latents, for walks


def render_projection(source: Source) -> None:
    """Choose what to project, press Project, see the kept result and walk between two projected images."""
    shape = output_shape(source.generator, source.latent_dim)
    st.caption(plain(ABOUT))
    choose, options = st.columns([3, 2])
    with choose:
        where = kept(st.radio, "Image to project", TARGETS, key="explore.project.source", default=TARGETS[0],
                     horizontal=True)
        if where == "Training set":
            chosen = _training_targets(source, shape)
        elif where == "Draw":
            chosen = _drawn_targets(shape)
        else:
            chosen = _uploaded_targets(shape)
    with options:
        steps = int(kept(st.number_input, "Optimisation steps", 10, 1000, key="explore.project.steps", default=100))
        restarts = int(kept(st.number_input, "Starts per image", 1, 8, key="explore.project.restarts", default=4))
        use_features = kept(st.checkbox, "Feature loss (the evaluator's classifier)", key="explore.project.features",
                            default=True, help="The first use on a data set trains its classifier (about 20 s).")
        asked = st.button("Project", key="explore.project.run", type="primary", disabled=chosen is None)
    if asked and chosen is not None:
        _project(source, *chosen, steps, restarts, use_features)
    result = kept_result(RESULT, source.identity)
    if result is None:
        st.caption("Made on request: about a second per image on a small generator.")
        return
    _render_result(result.value, made_at(result))
    _render_walk(source, result.value)


def _preview(targets: torch.Tensor, names: list[str]) -> None:
    """What will be projected, in a row."""
    st.image(sharp(image_grid(targets, columns=targets.shape[0]), min_width=0, min_scale=2),
             caption=plain(", ".join(names)), output_format="PNG", width="content")


def _training_targets(source: Source, shape: tuple[int, ...]) -> tuple[torch.Tensor, list[str]] | None:
    """Training images by index (their labels named where the data set has them)."""
    text = kept(st.text_input, "Training images (indices)", key="explore.project.indices", default="0, 1",
                help=f"Up to {MAX_PAGE_TARGETS} indices into the run's training set, e.g. 0, 17, 42.")
    try:
        if source.data_config is None:
            raise ValueError("this generator names no data set")
        dataset = cached_dataset(data_from_file(source.data_config))  # never downloads
        indices = training_indices(text, len(dataset.images))
    except (ValueError, DataError, OSError) as error:
        st.error(plain(" ".join(str(error).split())[:400]))
        return None
    targets = dataset.images[indices]
    if tuple(targets.shape[1:]) != tuple(shape):
        st.error(plain(f"The training images are {tuple(targets.shape[1:])}: this generator draws {shape}."))
        return None
    labels = dataset.labels
    names = [f"image {i}" + ("" if labels is None else f" (label {int(labels[i])})") for i in indices]
    _preview(targets, names)
    return targets, names


def _drawn_targets(shape: tuple[int, ...]) -> tuple[torch.Tensor, list[str]] | None:
    """A digit drawn on the canvas, sent with "Use the drawing"."""
    channels, height, width = shape
    drawing = digit_canvas("explore.canvas", "explore.drawing", width, height)
    centre = kept(st.checkbox, "Centre and scale it as MNIST's digits are", key="explore.project.centre",
                  default=True)
    if drawing is None:
        st.caption("Draw a digit, then press Use the drawing.")
        return None
    try:
        target = drawn_target(drawing, shape, centre)
    except ValueError as error:
        st.error(plain(error))
        return None
    _preview(target, ["the drawing"])
    return target, ["the drawing"]


def _uploaded_targets(shape: tuple[int, ...]) -> tuple[torch.Tensor, list[str]] | None:
    """Uploaded images of the generator's size, or a .npy of them."""
    channels, height, width = shape
    files = st.file_uploader(f"Images of {width}x{height} pixels, or a .npy of N x {channels} x {height} x {width} "
                             f"in [-1, 1] (at most {MAX_PAGE_TARGETS} images)",
                             type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "npy"], accept_multiple_files=True,
                             key="explore.project.upload")
    if not files:
        return None
    try:
        targets = uploaded_targets([(file.name, file.getvalue()) for file in files], shape)
    except ValueError as error:
        st.error(plain(error))
        return None
    names = [f"{file.name}" if not file.name.lower().endswith(".npy") else f"{file.name}" for file in files]
    if len(names) != targets.shape[0]:  # a .npy of several images
        names = [f"upload {i}" for i in range(targets.shape[0])]
    _preview(targets, names)
    return targets, names


def _evaluator(source: Source, use_features: bool):
    """(the evaluator or None, what the loss is made of)."""
    if not use_features:
        return None, "pixel MSE only"
    try:
        reference = cached_reference(data_from_file(source.data_config))  # never downloads
    except (EvaluationUnavailable, DataError, ValueError, OSError) as error:
        return None, "pixel MSE only: " + " ".join(str(error).split())[:200]
    return reference.evaluator, "pixel MSE + 0.1 x feature distance"


def _project(source: Source, targets: torch.Tensor, names: list[str], steps: int, restarts: int,
             use_features: bool) -> None:
    """Project now (a spinner meanwhile) and keep the result; a refusal is shown beside the button."""
    with st.spinner(f"Projecting {targets.shape[0]} image(s): {restarts} starts x {steps} steps each "
                    "(the first use of the feature loss trains the evaluator, about 20 s)..."):
        evaluator, loss = _evaluator(source, use_features)
        try:
            found = project_images(source.generator, targets, source.latent_dim, evaluator, steps=steps,
                                   restarts=restarts, seed=0)
        except ValueError as error:
            st.error(plain(error))
            return
        paths = _path_strips(source, found)
        readings = [""] * targets.shape[0]
        if evaluator is not None:
            wanted, got = predicted_classes(evaluator, targets), predicted_classes(evaluator, found.reconstructions)
            readings = [f"the classifier reads {int(a)} in the target, {int(b)} in the reconstruction"
                        for a, b in zip(wanted, got)]
    kind = {"classes": "class", "clusters": "cluster"}.get(found.label_kind)
    labels = found.labels.tolist() if found.labels is not None else [None] * targets.shape[0]
    keep_result(RESULT, source.identity, source.step, Projected(
        names, list(to_uint8(targets)), list(to_uint8(found.reconstructions)), paths, found.path_steps,
        found.pixel_distance.tolist(), None if found.feature_distance is None else found.feature_distance.tolist(),
        [f"{kind} {label}" if kind else "" for label in labels], readings, loss, found))


def _path_strips(source: Source, found: Projection) -> list[np.ndarray]:
    """Each target's optimisation path drawn by the generator: one strip (one row) per target."""
    count, points, latent_dim = found.path.shape
    labels = None
    if found.label_kind == "classes":
        labels = found.labels.repeat_interleave(points)
    images = generate(source.generator, found.path.reshape(-1, latent_dim), labels=labels)
    images = images.reshape(count, points, *images.shape[1:])
    return [image_grid(images[i], columns=points) for i in range(count)]


def _render_result(projected: Projected, made: str) -> None:
    """Per target: target, reconstruction, the path, the distances and what was found."""
    st.caption(plain(f"Projection {made}; loss: {projected.loss}."))
    for index, name in enumerate(projected.names):
        target, reconstruction, path = st.columns([1, 1, 3])
        target.image(sharp(projected.targets[index], TILE), caption=plain(f"target: {name}"), output_format="PNG",
                     width="content")
        words = [projected.found[index], f"pixel MSE {projected.pixel[index]:.4f}"]
        if projected.feature is not None:
            words.append(f"feature distance {projected.feature[index]:.3f}")
        # The words go below, not in the image's caption: a caption wider than the picture stretches it.
        reconstruction.image(sharp(projected.reconstructions[index], TILE), caption="reconstruction",
                             output_format="PNG", width="content")
        reconstruction.caption(plain(" · ".join(w for w in words if w)))
        path.image(wrapped_strip(projected.paths[index], len(projected.path_steps)),
                   caption=plain("the path: the winning start at steps " + ", ".join(map(str, projected.path_steps))),
                   output_format="PNG", width="content")
        if projected.readings[index]:
            path.caption(plain(projected.readings[index]))
    latents = io.BytesIO()
    np.save(latents, projected.projection.latents.numpy())
    st.download_button("Download the latents (.npy, for `sample --z`)", latents.getvalue(), "latents.npy",
                       "application/octet-stream", key="download.latents", on_click="ignore")


def _render_walk(source: Source, projected: Projected) -> None:
    """A walk between two projected images through their latents, drawn by the current generator."""
    count = len(projected.names)
    if count < 2:
        st.caption("Project two images or more to walk between them through their latents.")
        return
    st.subheader("Walk between two real images")
    first_column, second_column, method_column, steps_column = st.columns(4)
    choices = list(range(count))
    for key, default in (("explore.project.from", 0), ("explore.project.to", 1)):
        if st.session_state.get(key) not in (None, *choices):
            st.session_state.pop(key)  # a smaller projection since: its first images
    first = kept(first_column.selectbox, "From image", choices, key="explore.project.from", default=0,
                 format_func=lambda i: projected.names[i])
    second = kept(second_column.selectbox, "To image", choices, key="explore.project.to", default=1,
                  format_func=lambda i: projected.names[i])
    method = kept(method_column.radio, "Walk", ["slerp", "lerp"], key="explore.project.method", default="slerp",
                  horizontal=True)
    steps = int(kept(steps_column.number_input, "Frames", 2, 32, key="explore.project.walk_steps", default=9))
    _, images = projection_walk(source.generator, projected.projection, int(first), int(second), steps, method)
    strip = image_grid(images, columns=steps)
    st.image(wrapped_strip(strip, steps), output_format="PNG", width="content",
             caption=plain(f"{method} from {projected.names[first]} to {projected.names[second]} through their latents"
                           f" · drawn by the generator at step {source.step}"))


def render_point_projection(source: Source) -> None:
    """A 2D run's generator: the latent whose point comes closest to a point of the plane (pixel distance is the
    squared distance there), drawn over the real points and G's samples."""
    st.subheader("Find the latent of a point")
    x_column, y_column, button_column = st.columns([1, 1, 1], vertical_alignment="bottom")
    x = kept(x_column.number_input, "x", -1000.0, 1000.0, key="explore.point.x", default=1.0, step=0.1)
    y = kept(y_column.number_input, "y", -1000.0, 1000.0, key="explore.point.y", default=0.0, step=0.1)
    if button_column.button("Project the point", key="explore.point.run", type="primary"):
        with st.spinner("Projecting the point..."):
            found = project(source.generator, torch.tensor([[float(x), float(y)]]), source.latent_dim, steps=200,
                            restarts=4, seed=0, name="the point")
        keep_result("point", source.identity, source.step,
                    ((float(x), float(y)), tuple(found.reconstructions[0].tolist()), float(found.pixel_distance[0])))
    try:
        real = cached_dataset(data_from_file(source.data_config)).images  # never downloads
    except (ValueError, DataError, OSError) as error:
        st.error(plain(" ".join(str(error).split())[:400]))
        return
    fakes = generate(source.generator, zs_from_seeds(range(500), source.latent_dim))
    picture, bounds = scatter_image(fakes, real), view_bounds(real)
    result = kept_result("point", source.identity)
    caption = "real points (green), 500 samples of G (purple)"
    if result is not None:
        target, reached, distance = result.value
        picture = mark_points(mark_points(picture, np.array([target]), bounds, (215, 48, 31)),
                              np.array([reached]), bounds, (33, 102, 172))
        caption += (f"; the target ({target[0]:g}, {target[1]:g}) in red, G(z) of the latent found at "
                    f"({reached[0]:.3f}, {reached[1]:.3f}) in blue: squared distance {2 * distance:.4f} · "
                    f"{made_at(result)}")
    st.image(sharp(picture, min_width=0, min_scale=2), caption=plain(caption), output_format="PNG", width="content")
