"""The latent explorer's memorisation check: one sample beside its nearest training images, and the run's
nearest-neighbour distance ratio (gan_core.quality.memorization does the measuring)."""

from __future__ import annotations


import numpy as np
import streamlit as st
from torch import nn

from dashboard.resources import cached_neighbours, cached_ratio
from dashboard.ui.text import plain
from gan_core.config.schema import DataConfig
from gan_core.data.datasets import DataError, data_from_file
from gan_core.quality.evaluator import EvaluationUnavailable
from gan_core.quality.memorization import (RatioReport)

NEIGHBOUR_WIDTH = 64  # pixels: each neighbour's whole-factor upscale before the browser fits it to its column
SAMPLE_WIDTH = 160
RATIO_HELP = ("The nearest-neighbour distance ratio: how far generated samples are from their nearest training "
              "image, over how far unseen real images are, in the evaluator's feature space.")
CHECKED_KEY = "explore.memo_checked"  # generator identities whose check was asked for


def render_memorization(generator: nn.Module, latent_dim: int, data_config: DataConfig | None,
                        identity: tuple, seeds: tuple[int, ...]) -> None:
    """An expander: choose a seed of the grid, press the button, see its 5 nearest training images and the
    run's distance ratio; a plain message when this data set has no evaluator."""
    with st.expander("Memorisation check"):
        st.caption(plain("Is the generator copying its training images? Distances are measured in the "
                         "feature space of the small classifier the quality scores use."))
        seed = int(st.selectbox("Sample (seed)", seeds, key="explore.memo_seed"))
        checked = st.session_state.setdefault(CHECKED_KEY, [])
        if st.button("Check memorisation", key="explore.memo_check") and identity not in checked:
            checked[:] = [*checked[-7:], identity]  # a live run's identity changes every step: keep a few
        if identity not in checked:
            st.caption(plain("Made on request for these weights: the first check on a data set trains its "
                             "evaluator (about 20 s)."))
            return
        if data_config is None or data_config.is_points:
            st.info(plain("The memorisation check needs an image data set: this generator's data is 2D points."))
            return
        # The config may come from a checkpoint file or upload: the check reads data, it never downloads.
        data_config = data_from_file(data_config)
        try:
            with st.spinner("Checking memorisation: the first check on a data set trains its evaluator "
                            "(about 20 s), later ones take a second..."):
                sample, neighbours, distances = cached_neighbours(generator, identity, data_config, seed,
                                                                  latent_dim)
                report = cached_ratio(generator, identity, data_config, latent_dim)
        except (EvaluationUnavailable, DataError) as error:
            st.info(plain(f"No memorisation check for this generator: {error}"))
            return
        render_result(seed, sample, neighbours, distances, report)


def render_result(seed: int, sample: np.ndarray, neighbours: list[np.ndarray], distances: list[float],
                  report: RatioReport) -> None:
    """The sample large beside the run's ratio, then its nearest training images with their distances."""
    left, right = st.columns([2, 3])
    left.image(_sharp(sample, SAMPLE_WIDTH), caption=plain(f"seed {seed}"), output_format="PNG", width="stretch")
    right.metric("Distance ratio", f"{report.ratio:.2f}", help=plain(RATIO_HELP))
    right.caption(plain("Near 1: generated images are as far from the training set as unseen real ones; "
                        "well below 1: they are copies of training images."))
    for column, image, distance in zip(st.columns(len(neighbours)), neighbours, distances):
        # Upscaled by a whole factor first, so the browser's fit to the column stays nearly sharp.
        column.image(_sharp(image, NEIGHBOUR_WIDTH), caption=plain(f"{distance:.2f}"), output_format="PNG",
                     width="stretch")
    st.caption(plain(
        f"Above: seed {seed}'s {len(neighbours)} nearest training images, nearest first, with their feature "
        "distances (0: an exact copy). The ratio: median distance to the nearest training image of "
        f"{report.generated} generated samples over that of {report.held_out} held-out real images "
        f"({report.generated_median:.2f} / {report.held_out_median:.2f})."))


def _sharp(image: np.ndarray, width: int) -> np.ndarray:
    """Nearest-neighbour upscale by the whole factor that brings the width to at least `width` pixels."""
    scale = max(1, -(-width // image.shape[1]))
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
