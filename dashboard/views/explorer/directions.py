"""Directions in the latent explorer (#29): sliders move one sample along the current generator's top SeFa or
PCA directions (gan_core/views/directions.py), and a strip along any direction can be saved as a PNG."""

from __future__ import annotations

import streamlit as st
import torch

from dashboard.ui.pictures import sharp, wrapped_strip
from dashboard.ui.text import plain
from dashboard.views.explorer.source import Source
from dashboard.views.explorer.state import kept, set_input
from dashboard.views.explorer.walks import labels_for
from gan_core.views.codes import latent_codes
from gan_core.views.directions import Directions, direction_strip, directions, move
from gan_core.views.latent import generate, image_grid, png_bytes, z_from_seed

SLIDERS = 5  # the strongest directions get a slider each
SLIDER_RANGE = 5.0  # in z's standard deviations
METHODS = {"SeFa": "sefa", "PCA": "pca"}
MEMO_KEY = "explore.directions"  # (generator identity, method) -> Directions, for this session
ABOUT = ("SeFa: the eigenvectors of W^T W for the generator's first layer W (closed form, Shen & Zhou 2021). "
         "PCA: principal components of the first layer's activations over 2,000 samples, mapped back to z "
         "(GANSpace). Both are unit directions in z, strongest first, of the generator as it is now.")
CLUSTER_NOTE = ("This generator reads its cluster off z[0]: its directions leave z[0] alone, so a move stays in "
                "the sample's cluster.")
SAMPLE_WIDTH = 168  # px on screen for the sample and its moved copy


def found_directions(source: Source, method: str) -> Directions:
    """The generator's directions by method, computed once per (weights, method) in this session."""
    memo = st.session_state.get(MEMO_KEY)
    wanted = (source.identity, method)
    if memo is not None and memo[0] == wanted:
        return memo[1]
    found = directions(source.generator, source.latent_dim, method)
    st.session_state[MEMO_KEY] = (wanted, found)
    return found


def _reset(count: int) -> None:
    for index in range(count):
        set_input(f"explore.dir.move{index}", 0.0)


def render_directions(source: Source, label: int | None) -> None:
    """Method and seed, a slider per strong direction, the moved sample, then a strip along one direction."""
    st.caption(plain(ABOUT))
    if label is None and getattr(source.generator, "num_classes", 0):
        label = 0  # a sample and its moves compare only within one class: class 0 unless one is picked above
    method_column, seed_column, reset_column = st.columns([1, 1, 1], vertical_alignment="bottom")
    method = METHODS[kept(method_column.radio, "Directions", list(METHODS), key="explore.dir.method",
                          default="SeFa", horizontal=True)]
    seed = int(kept(seed_column.number_input, "Seed", 0, 2**31 - 1, key="explore.dir.seed", default=0))
    try:
        with st.spinner("Finding the directions..."):
            found = found_directions(source, method)
    except ValueError as error:
        st.error(plain(error))
        return
    count = min(SLIDERS, found.vectors.shape[0])
    reset_column.button("Reset the sliders", key="explore.dir.reset", on_click=_reset, args=(count,))
    if latent_codes(source.generator).kind == "clusters":
        st.caption(plain(CLUSTER_NOTE))
    sliders, pictures = st.columns([2, 3])
    amounts = []
    with sliders:
        for index in range(count):
            amounts.append(float(kept(st.slider, f"Direction {index} (strength {float(found.strengths[index]):.3g})",
                                      -SLIDER_RANGE, SLIDER_RANGE, key=f"explore.dir.move{index}", default=0.0,
                                      step=0.25)))
    z = z_from_seed(seed, source.latent_dim)
    moved = move(z, found.vectors[:count], torch.tensor(amounts))
    images = generate(source.generator, torch.stack([z, moved]), labels=labels_for(label, 2))
    moves = ", ".join(f"{a:+g} along {i}" for i, a in enumerate(amounts) if a) or "not moved yet"
    with pictures:
        left, right = st.columns(2)
        left.image(sharp(image_grid(images[:1], padding=0), SAMPLE_WIDTH),
                   caption=f"seed {seed}" + ("" if label is None else f", class {label}"),
                   output_format="PNG", width="content")
        # What moved goes below, not in the caption: a caption wider than the picture stretches it.
        right.image(sharp(image_grid(images[1:], padding=0), SAMPLE_WIDTH), caption="moved", output_format="PNG",
                    width="content")
        right.caption(plain(moves))
    _render_strip(source, found, moved, label)


def _render_strip(source: Source, found: Directions, z: torch.Tensor, label: int | None) -> None:
    """A strip through the (moved) sample along one direction, with its PNG."""
    st.subheader("A strip along one direction")
    index_column, range_column, steps_column = st.columns(3)
    count = found.vectors.shape[0]
    index = int(kept(index_column.number_input, f"Direction (0 to {count - 1})", 0, None, key="explore.dir.index",
                     default=0, step=1))
    extent = float(kept(range_column.slider, "How far each way", 0.5, 10.0, key="explore.dir.extent", default=3.0,
                        step=0.5))
    steps = int(kept(steps_column.number_input, "Frames", 3, 32, key="explore.dir.steps", default=9))
    try:
        direction = found.pick(index, "Direction")
    except ValueError as error:
        index_column.error(plain(error))  # beside the field
        return
    images = direction_strip(source.generator, z, direction, extent, steps, label)
    strip = image_grid(images, columns=steps)
    st.image(wrapped_strip(strip, steps), output_format="PNG", width="content",
             caption=plain(f"{found.method} direction {index}, from -{extent:g} to +{extent:g} through the sample "
                           f"above · step {source.step}"))
    st.download_button("Download the strip (PNG)", png_bytes(strip), f"{found.method}_direction_{index}.png",
                       "image/png", key="download.direction", on_click="ignore")
