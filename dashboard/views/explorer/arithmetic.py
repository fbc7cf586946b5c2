"""Vector arithmetic and class morphs in the latent explorer (#29): the mean z of the samples in each class (the
evaluator's classifier sorts them) or cluster (a self-conditioned G's own), added and subtracted ("z + class7 -
class1"); and one z drawn as its class (or cluster) vector moves from A to B. gan_core/views/morphs.py and
quality/latent_quality.py do the work; means are made on request and kept, marked with their step."""

from __future__ import annotations

import streamlit as st
import torch

from dashboard.resources import cached_reference
from dashboard.ui.pictures import sharp, wrapped_strip
from dashboard.ui.text import plain
from dashboard.views.explorer.source import Source
from dashboard.views.explorer.state import keep_result, kept, kept_result, made_at
from gan_core.data.datasets import DataError, data_from_file
from gan_core.quality.evaluator import EvaluationUnavailable
from gan_core.quality.latent_quality import class_means
from gan_core.views.codes import latent_codes
from gan_core.views.latent import generate, image_grid, png_bytes, z_from_seed
from gan_core.views.morphs import LatentMeans, arithmetic, class_morph

RESULT = "means"
MEANS_OF = {"classes (the evaluator's classifier)": "classes", "clusters (the generator's own)": "clusters"}
SINGULAR = {"classes": "class", "clusters": "cluster"}
SAMPLES = 2000  # seeded samples averaged per request
TILE = 140  # px on screen for z and the result


def render_arithmetic(source: Source) -> None:
    """Class (or cluster) means and an expression over them; class morphs for a generator that has classes or
    clusters."""
    codes = latent_codes(source.generator)
    st.subheader("Vector arithmetic")
    if codes.kind == "classes":
        st.info("This generator takes its class as an input beside z, so z holds no class to add or subtract: "
                "morph one z between classes below.")
    else:
        _render_arithmetic(source, codes.kind == "clusters")
    if codes.kind != "none":
        _render_morph(source, codes.kind, codes.count)


def _means(source: Source, kind: str) -> None:
    """Average z per class or cluster now (a spinner meanwhile) and keep the means."""
    evaluator = None
    if kind == "classes":
        try:
            with st.spinner("Loading the evaluator (the first time on a data set it trains, about 20 s)..."):
                evaluator = cached_reference(data_from_file(source.data_config)).evaluator  # never downloads
        except (EvaluationUnavailable, DataError, ValueError, OSError) as error:
            st.info(plain(f"No class means for this generator: {' '.join(str(error).split())[:300]}"))
            return
    with st.spinner(f"Sorting {SAMPLES:,} samples into {kind}..."):
        means = class_means(source.generator, source.latent_dim, evaluator, samples=SAMPLES)
    keep_result(RESULT, source.identity, source.step, means)


def _render_arithmetic(source: Source, has_clusters: bool) -> None:
    options = list(MEANS_OF) if has_clusters else list(MEANS_OF)[:1]
    means_column, button_column = st.columns([2, 1], vertical_alignment="bottom")
    kind = MEANS_OF[kept(means_column.radio, "Means of", options, key="explore.arith.kind", default=options[-1],
                         horizontal=True)]
    word = SINGULAR[kind]
    if button_column.button(f"Find the {word} means", key="explore.arith.means"):
        _means(source, kind)
    result = kept_result(RESULT, source.identity)
    if result is None:
        st.caption(f"Made on request: {SAMPLES:,} samples sorted into {kind}, their z averaged per {word}.")
        return
    means: LatentMeans = result.value
    present = [(name, vector) for name, vector, n in zip(means.names, means.vectors, means.counts) if n > 0]
    images = generate(source.generator, torch.stack([vector for _, vector in present]))
    st.image(sharp(image_grid(images, columns=min(len(present), 10)), min_width=0, min_scale=2),
             caption=plain(f"the mean z of each {SINGULAR[means.kind]}: " + ", ".join(name for name, _ in present)
                           + f" · {made_at(result)}"), output_format="PNG", width="content")
    names = [name for name, _ in present]
    default = f"z + {names[-1]} - {names[0]}" if len(names) > 1 else f"z + {names[0]}"
    seed_column, expression_column = st.columns([1, 3])
    seed = int(kept(seed_column.number_input, "z from seed", 0, 2**31 - 1, key="explore.arith.seed", default=0))
    expression = kept(expression_column.text_input, "Expression", key="explore.arith.expression", default=default,
                      help="Names joined by + and -, each with an optional weight: z, " + ", ".join(names[:12])
                      + (", ..." if len(names) > 12 else ""))
    z = z_from_seed(seed, source.latent_dim)
    try:
        latent = arithmetic(expression, {"z": z, **means.as_mapping()})
    except ValueError as error:
        expression_column.error(plain(error))  # beside the field
        return
    pictures = generate(source.generator, torch.stack([z, latent]))
    left, right, _ = st.columns([1, 1, 2])
    left.image(sharp(image_grid(pictures[:1], padding=0), TILE), caption=f"z (seed {seed})", output_format="PNG",
               width="content")
    # The expression goes below, not in the caption: a caption wider than the picture stretches it.
    right.image(sharp(image_grid(pictures[1:], padding=0), TILE), caption="the result", output_format="PNG",
                width="content")
    right.caption(plain(expression))


def _render_morph(source: Source, kind: str, count: int) -> None:
    """One z drawn as its class (or cluster) vector goes from A to B in even steps."""
    word = "class" if kind == "classes" else "cluster"
    st.subheader(f"{word.capitalize()} morph")
    a_column, b_column, seed_column, steps_column = st.columns(4)
    choices = list(range(count))
    for key in ("explore.morph.a", "explore.morph.b"):
        if st.session_state.get(key) not in (None, *choices):
            st.session_state.pop(key)  # another generator with fewer classes
    first = int(kept(a_column.selectbox, f"From {word}", choices, key="explore.morph.a", default=0))
    second = int(kept(b_column.selectbox, f"To {word}", choices, key="explore.morph.b", default=min(1, count - 1)))
    seed = int(kept(seed_column.number_input, "Seed", 0, 2**31 - 1, key="explore.morph.seed", default=0))
    steps = int(kept(steps_column.number_input, "Frames", 2, 32, key="explore.morph.steps", default=9))
    try:
        images = class_morph(source.generator, z_from_seed(seed, source.latent_dim), first, second, steps)
    except ValueError as error:
        st.error(plain(error))
        return
    strip = image_grid(images, columns=steps)
    st.image(wrapped_strip(strip, steps), output_format="PNG", width="content",
             caption=plain(f"seed {seed}, its {word} vector mixed from {word} {first} to {word} {second} "
                           f"· step {source.step}"))
    st.download_button("Download the morph (PNG)", png_bytes(strip), f"morph_{first}_{second}.png", "image/png",
                       key="download.morph", on_click="ignore")
