"""The latent explorer's memorisation check: one sample beside its nearest training images, and the run's
nearest-neighbour distance ratio (gan_core.quality.memorization does the measuring)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from dashboard.panels import cached_dataset
from dashboard.text import plain
from gan_core.config.schema import DataConfig
from gan_core.data.datasets import DataError, data_from_file
from gan_core.quality.evaluator import EvaluationUnavailable, Evaluator
from gan_core.quality.memorization import (RatioReport, held_out_count, nearest_training_images, run_distance_ratio,
                                           training_features)
from gan_core.views.latent import generate, image_grid, zs_from_seeds

NEIGHBOURS = 5
NEIGHBOUR_WIDTH = 64  # pixels: each neighbour's whole-factor upscale before the browser fits it to its column
SAMPLE_WIDTH = 160
RATIO_SEED_BASE = 1_000_000  # the ratio's samples: seeds 1,000,000.., away from the seeds people type
RATIO_HELP = ("The nearest-neighbour distance ratio: how far generated samples are from their nearest training "
              "image, over how far unseen real images are, in the evaluator's feature space.")
CHECKED_KEY = "explore.memo_checked"  # generator identities whose check was asked for


@dataclass(frozen=True)
class Reference:
    """A data set's evaluator and its training images' features (N, 128), made once per data config."""

    evaluator: Evaluator
    features: torch.Tensor


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


@st.cache_resource(max_entries=2, show_spinner=False)
def cached_reference(data_config: DataConfig) -> Reference:
    """The evaluator (loaded, or trained and cached on disk) and the training features, once per data set."""
    dataset = cached_dataset(data_config)
    evaluator = Evaluator.for_data(data_config, dataset=dataset)
    return Reference(evaluator, training_features(evaluator, dataset.images))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_neighbours(_generator: nn.Module, identity: tuple, data_config: DataConfig, seed: int,
                      latent_dim: int) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    """The sample of this seed (H, W, C) uint8, its nearest training images and their distances."""
    reference = cached_reference(data_config)
    images = cached_dataset(data_config).images
    sample = generate(_generator, zs_from_seeds([seed], latent_dim))  # (1, C, H, W)
    found = nearest_training_images(reference.evaluator, reference.features, sample, k=NEIGHBOURS)
    indices = found.indices[0].tolist()
    return (image_grid(sample, padding=0), [image_grid(images[[i]], padding=0) for i in indices],
            found.distances[0].tolist())


@st.cache_data(max_entries=8, show_spinner=False)
def cached_ratio(_generator: nn.Module, identity: tuple, data_config: DataConfig, latent_dim: int) -> RatioReport:
    """The run's distance ratio, once per generator (weights) and data set."""
    reference = cached_reference(data_config)
    count = held_out_count(reference.features.shape[0])
    samples = generate(_generator, zs_from_seeds(range(RATIO_SEED_BASE, RATIO_SEED_BASE + count), latent_dim))
    return run_distance_ratio(reference.evaluator, reference.features, samples)
