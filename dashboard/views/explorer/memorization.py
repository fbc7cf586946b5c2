"""The latent explorer's memorisation check: one sample beside its nearest training images, and the run's
nearest-neighbour distance ratio (gan_core.quality.memorization does the measuring)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.resources import cached_neighbours, cached_ratio
from dashboard.ui.pictures import sharp
from dashboard.ui.text import plain
from dashboard.views.explorer.source import Source
from dashboard.views.explorer.state import drop_result, keep_result, kept, kept_result, made_at
from gan_core.data.datasets import DataError, data_from_file
from gan_core.quality.evaluator import EvaluationUnavailable
from gan_core.quality.memorization import RatioReport

NEIGHBOUR_WIDTH = 64  # pixels: each neighbour's whole-factor upscale before the browser fits it to its column
SAMPLE_WIDTH = 160
RATIO_HELP = ("The nearest-neighbour distance ratio: how far generated samples are from their nearest training "
              "image, over how far unseen real images are, in the evaluator's feature space.")
RESULT = "memorisation"  # the kept result's name (dashboard/views/explorer/state.py)


@dataclass(frozen=True)
class Check:
    """One memorisation check: the sample of a seed, its nearest training images, the run's ratio."""

    identity: tuple  # the weights it was made with
    seed: int
    sample: np.ndarray
    neighbours: list[np.ndarray]
    distances: list[float]
    report: RatioReport


def render_memorization(source: Source, seeds: tuple[int, ...]) -> None:
    """An expander: choose a seed of the grid, press the button, see its 5 nearest training images and the
    run's distance ratio (kept until the next check, marked with its step); a plain message when this data set
    has no evaluator."""
    with st.expander("Memorisation check"):
        st.caption(plain("Is the generator copying its training images? Distances are measured in the "
                         "feature space of the small classifier the quality scores use."))
        if st.session_state.get("explore.memo_seed") not in (None, *seeds):
            st.session_state.pop("explore.memo_seed")  # the grid moved: its first seed
        seed = int(kept(st.selectbox, "Sample (seed)", seeds, key="explore.memo_seed", default=seeds[0]))
        asked = st.button("Check memorisation", key="explore.memo_check")
        result = kept_result(RESULT, source.identity)
        # Another seed of the same weights (a checkpoint's): its neighbours at once, the ratio from the cache.
        again = result is not None and result.value.identity == source.identity and result.value.seed != seed
        if asked or again:
            result = _check(source, seed)
        if result is None:
            st.caption(plain("Made on request for these weights: the first check on a data set trains its "
                             "evaluator (about 20 s)."))
            return
        check = result.value
        render_result(check.seed, check.sample, check.neighbours, check.distances, check.report)
        note = f"Checked {made_at(result)}."
        if check.seed != seed:
            note += f" Press Check memorisation for seed {seed} at the current step."
        st.caption(plain(note))


def _check(source: Source, seed: int):
    """Run the check now and keep it; None (with a message) where it cannot be made."""
    data_config = source.data_config
    if data_config is None or data_config.is_points:
        st.info(plain("The memorisation check needs an image data set: this generator's data is 2D points."))
        drop_result(RESULT)
        return None
    # The config may come from a checkpoint file or upload: the check reads data, it never downloads.
    data_config = data_from_file(data_config)
    try:
        with st.spinner("Checking memorisation: the first check on a data set trains its evaluator "
                        "(about 20 s), later ones take a second..."):
            sample, neighbours, distances = cached_neighbours(source.generator, source.identity, data_config, seed,
                                                              source.latent_dim)
            report = cached_ratio(source.generator, source.identity, data_config, source.latent_dim)
    except (EvaluationUnavailable, DataError) as error:
        st.info(plain(f"No memorisation check for this generator: {error}"))
        drop_result(RESULT)
        return None
    return keep_result(RESULT, source.identity, source.step,
                       Check(source.identity, seed, sample, neighbours, distances, report))


def render_result(seed: int, sample: np.ndarray, neighbours: list[np.ndarray], distances: list[float],
                  report: RatioReport) -> None:
    """The sample large beside the run's ratio, then its nearest training images with their distances."""
    left, right = st.columns([2, 3])
    left.image(sharp(sample, SAMPLE_WIDTH, min_scale=1), caption=plain(f"seed {seed}"), output_format="PNG",
               width="stretch")
    right.metric("Distance ratio", f"{report.ratio:.2f}", help=plain(RATIO_HELP))
    right.caption(plain("Near 1: generated images are as far from the training set as unseen real ones; "
                        "well below 1: they are copies of training images."))
    for column, image, distance in zip(st.columns(len(neighbours)), neighbours, distances):
        # Upscaled by a whole factor first, so the browser's fit to the column stays nearly sharp.
        column.image(sharp(image, NEIGHBOUR_WIDTH, min_scale=1), caption=plain(f"{distance:.2f}"),
                     output_format="PNG", width="stretch")
    st.caption(plain(
        f"Above: seed {seed}'s {len(neighbours)} nearest training images, nearest first, with their feature "
        "distances (0: an exact copy). The ratio: median distance to the nearest training image of "
        f"{report.generated} generated samples over that of {report.held_out} held-out real images "
        f"({report.generated_median:.2f} / {report.held_out_median:.2f})."))
