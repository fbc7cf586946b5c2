"""The latent explorer's walks between seeds: a lerp/slerp strip (with its PNG), a walk that keeps a
self-conditioned generator's cluster, and the great-circle loop GIF (made on request and kept)."""

from __future__ import annotations

import random

import streamlit as st
import torch

from dashboard.live import components
from dashboard.live.samples import strip_caption, walk_latents
from dashboard.resources import cached_strip
from dashboard.ui.pictures import wrapped_strip
from dashboard.ui.text import plain
from dashboard.views.explorer.source import Source
from dashboard.views.explorer.state import keep_result, kept, kept_result, made_at, set_input
from gan_core.views.codes import latent_codes
from gan_core.views.latent import generate, gif_bytes, great_circle_loop, image_grid, png_bytes, z_from_seed

FOLLOW_REFRESH_S = 5.0  # how often a followed live run's pictures are fetched
CLUSTER_NOTE = ("This generator is self-conditioned: it picks one of its {count} clusters from z's first coordinate "
                "(z[0]), so a walk between two seeds jumps from one cluster to the next wherever z[0] crosses a "
                "cluster's edge (the caption names each frame's cluster). \"Keep the start's cluster\" holds z[0] at "
                "the start's value: the walk then changes only what the cluster draws.")


def labels_for(label: int | None, count: int) -> torch.Tensor | None:
    """(count,) of one class for a conditional generator; None leaves the classes in turn."""
    return None if label is None else torch.full((count,), label, dtype=torch.int64)


def label_field(label: int | None) -> int:
    """The class as the live feed takes it: its index plus one, 0 for each class in turn."""
    return 0 if label is None else label + 1


def live_picture(kind: str, request: dict, min_width: int = 0) -> None:
    """One picture of the live generator, fetched from the live feed every FOLLOW_REFRESH_S seconds."""
    components.picture(f"explorer_{kind}", request, FOLLOW_REFRESH_S, key=f"explore.live.{kind}", min_width=min_width)


def _random_endpoints() -> None:
    set_input("explore.from", random.randrange(2**31))
    set_input("explore.to", random.randrange(2**31))


def render_interpolation(source: Source, label: int | None = None, live: bool = False) -> None:
    """Two endpoints by seed (or random), lerp or slerp, K steps -> a strip with a PNG download (a live picture of
    the training generator while following it); a self-conditioned G says why it jumps and may keep its cluster."""
    generator, latent_dim = source.generator, source.latent_dim
    st.button("Random endpoints", key="explore.random", on_click=_random_endpoints)
    left, right, method_column, steps_column = st.columns([1, 1, 1, 1])
    start = int(kept(left.number_input, "From seed", 0, 2**31 - 1, key="explore.from", default=1))
    end = int(kept(right.number_input, "To seed", 0, 2**31 - 1, key="explore.to", default=2))
    method = kept(method_column.radio, "Method", ["slerp", "lerp"], key="explore.method", default="slerp",
                  horizontal=True)
    steps = int(kept(steps_column.number_input, "Steps", 2, 32, key="explore.steps", default=8))
    codes = latent_codes(generator)
    hold = False
    if codes.kind == "clusters":
        st.caption(plain(CLUSTER_NOTE.format(count=codes.count)))
        hold = bool(kept(st.checkbox, "Keep the start's cluster (hold z[0])", key="explore.keep_cluster",
                         default=False))
    walk = (start, end, steps, method, latent_dim)
    if live:
        live_picture("strip", {"start": start, "end": end, "steps": steps, "method": method,
                               "label": label_field(label), "hold": int(hold)})
    if hold:
        strip = image_grid(generate(generator, walk_latents(*walk, hold=True), labels=labels_for(label, steps)),
                           columns=steps)
    else:
        strip = cached_strip(generator, source.identity, *walk, label)
    if not live:
        # Rows of frames, each at 2x or more, that fit a 1024-px window (dashboard/ui/pictures.py).
        st.image(wrapped_strip(strip, steps), caption=strip_caption(generator, *walk, hold=hold),
                 output_format="PNG", width="content")
    st.session_state["explore.strip_length"] = steps  # read by tests and the browser check
    # The file is made with the page (a few KB) and a click downloads it without a rerun: nothing to lose.
    st.download_button(f"Download strip (PNG) · step {source.step}" if live else "Download strip (PNG)",
                       png_bytes(strip), f"{method}_{start}_{end}.png", "image/png", key="download.strip",
                       on_click="ignore")


def render_loop(source: Source, label: int | None) -> None:
    """The great-circle loop through the interpolation's seeds as a GIF: made on request, kept (with its
    download) until another is made, marked with the step it was made at."""
    frames = int(kept(st.number_input, "Frames", 8, 120, key="explore.loop_frames", default=36))
    start = int(st.session_state.get("explore.from", 1))
    end = int(st.session_state.get("explore.to", 2))
    if st.button("Make the loop", key="explore.make_gif"):
        latent_dim = source.latent_dim
        loop = great_circle_loop(z_from_seed(start, latent_dim), z_from_seed(end, latent_dim), frames)[:-1]
        made = generate(source.generator, loop, labels=labels_for(label, loop.shape[0]))
        keep_result("loop", source.identity, source.step,
                    (gif_bytes(made, frame_ms=80, scale=4), f"loop through seeds {start} and {end}, {frames} frames"))
    result = kept_result("loop", source.identity)
    if result is None:
        st.caption(f"A {frames}-frame walk on the great circle through seeds {start} and {end}: made on request, "
                   "since it costs a second of CPU.")
        return
    gif, caption = result.value
    st.image(gif, caption=f"{caption} · {made_at(result)}")
    st.download_button("Download GIF", gif, "loop.gif", "image/gif", key="download.gif", on_click="ignore")
