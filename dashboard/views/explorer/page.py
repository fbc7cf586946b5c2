"""The latent explorer: pick a generator (the live run's copy or a checkpoint), then a tool: samples from a seed,
walks and a loop (walks.py), bookmarks and the memorisation check (memorization.py); projection of a real image
(projection.py); SeFa/PCA directions (directions.py); vector arithmetic and class morphs (arithmetic.py). While
"Follow the live run" is on and the run trains, the grid and the strips are live pictures fed by the live feed
(a new picture when the generator moved on), not reruns. Inputs and results made on request are kept for the
session (state.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.resources import cached_class_strip, cached_grid
from dashboard.ui.keys import EXPLORE_REQUEST_KEY
from dashboard.ui.pictures import MIN_DISPLAY_WIDTH, sharp
from dashboard.ui.text import plain
from dashboard.views.explorer import arithmetic, directions, projection, walks
from dashboard.views.explorer.memorization import render_memorization
from dashboard.views.explorer.source import Source, choose_generator
from dashboard.views.explorer.state import kept, set_input
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.files import UnreadableFile, read_json, write_atomic
from gan_core.runs.paths import RunPaths

MAX_BOOKMARKS_BYTES = 64 << 10  # bookmarks.json: a list of seeds; more is not ours
TOOLS = ("Seeds and walks", "Project an image", "Directions", "Arithmetic and morphs")
TOOL_HELP = ("Seeds and walks: samples, interpolation and a loop. Project an image: find the latent of a real "
             "image. Directions: move a sample along SeFa or PCA directions. Arithmetic and morphs: add and "
             "subtract class means, morph one z between classes.")


def show_image(container, image: np.ndarray, caption: str) -> None:
    """A PNG (never JPEG) at its own, whole-factor upscaled size."""
    container.image(sharp(image), caption=caption, output_format="PNG", width="content")


def render_explorer(session: TrainingSession, snapshot: Snapshot) -> None:
    """Pick a generator (the live run or a checkpoint), then a tool."""
    _apply_open_request()
    follow = kept(st.toggle, "Follow the live run", key="explore.follow", default=True,
                  help=f"Resample from the current generator every {walks.FOLLOW_REFRESH_S:.0f} s while training.")
    source = choose_generator(session, snapshot)
    if source is None:
        return
    # Following a training run: the pictures of seeds and walks come from the live feed, made from the newest weights.
    live = follow and source.live and snapshot.status == "running"
    if source.data_config is not None and source.data_config.is_points:
        st.info("This generator draws 2D points, not images: its samples, D's surface and G's mesh are in the "
                "Training view's playground (open the run from the Runs view to see its last state). Here: find "
                "the latent of a point.")
        projection.render_point_projection(source)
        return
    tool = kept(st.radio, "Tool", TOOLS, key="explore.tool", default=TOOLS[0], horizontal=True, help=TOOL_HELP)
    label = render_class_picker(getattr(source.generator, "num_classes", 0))
    if tool == TOOLS[0]:
        render_seeds_and_walks(source, label, live)
    elif tool == TOOLS[1]:
        projection.render_projection(source)
    elif tool == TOOLS[2]:
        directions.render_directions(source, label)
    else:
        arithmetic.render_arithmetic(source)


def render_seeds_and_walks(source: Source, label: int | None, live: bool) -> None:
    """Samples from a seed (bookmarks, the memorisation check) beside the loop; the interpolation below, at full
    width so its frames show at 2x or more."""
    grid_column, loop_column = st.columns(2)
    with grid_column:
        st.subheader("Samples from a seed")
        seed = int(kept(st.number_input, "Seed", 0, 2**31 - 1, key="explore.seed", default=0))
        count = kept(st.select_slider, "How many", [4, 16, 36, 64], key="explore.count", default=16)
        if live:
            walks.live_picture("grid", {"seed": seed, "count": count, "label": walks.label_field(label)},
                               MIN_DISPLAY_WIDTH)
        else:
            grid = cached_grid(source.generator, source.identity, tuple(range(seed, seed + count)), source.latent_dim,
                               label)
            show_image(st, grid, f"seeds {seed}..{seed + count - 1}" + ("" if label is None else f", class {label}"))
        _render_bookmarks(seed, source.run_dir)
        render_memorization(source, tuple(range(seed, seed + count)))
    with loop_column:
        st.subheader("Great-circle loop")
        walks.render_loop(source, label)
    st.subheader("Interpolate")
    walks.render_interpolation(source, label, live)
    if getattr(source.generator, "num_classes", 0):
        if live:
            walks.live_picture("classes", {"seed": seed})
        else:
            render_class_strip(source, seed)


def render_class_picker(classes: int) -> int | None:
    """A conditional generator's class for every sample below (None: classes in turn, 0, 1, ..., K-1, 0, ...)."""
    if not classes:
        return None
    choice = kept(st.selectbox, "Class", ["each class in turn", *range(classes)], key="explore.class",
                  default="each class in turn",
                  help="This generator is class-conditional: ask for one class, or see them in turn.")
    return None if isinstance(choice, str) else int(choice)


def render_class_strip(source: Source, seed: int) -> None:
    """Between classes at a fixed seed: the same z drawn as every class, left to right."""
    classes = source.generator.num_classes
    strip = cached_class_strip(source.generator, source.identity, seed, source.latent_dim, classes)
    st.image(sharp(strip, min_width=0), caption=f"seed {seed} as each class, 0 to {classes - 1}",
             output_format="PNG", width="content")


def _apply_open_request() -> None:
    """A checkpoint chosen elsewhere (the Runs view's "Open in latent explorer") becomes this view's source,
    set before the widgets are drawn."""
    path = st.session_state.pop(EXPLORE_REQUEST_KEY, None)
    if path:
        set_input("explore.source", "Checkpoint file")
        set_input("explore.path", path)


def _render_bookmarks(seed: int, run_dir: str | None) -> None:
    """Bookmarked seeds, kept in the run directory's bookmarks.json."""
    if not run_dir:
        return
    path = RunPaths(Path(run_dir)).bookmarks
    bookmarks = load_bookmarks(path)
    if st.button(f"Bookmark seed {seed}", key="explore.bookmark"):
        try:
            bookmarks = save_bookmark(path, seed)
        except OSError as error:  # a read-only run folder, a folder named bookmarks.json
            st.error(plain(f"The bookmark could not be saved in {path.name}: {error.strerror or error}"))
    if bookmarks:
        st.caption("Bookmarked seeds: " + ", ".join(str(b) for b in bookmarks))


def load_bookmarks(path: Path) -> list[int]:
    """Seeds in bookmarks.json (a regular file of at most 64 KB, never a link or FIFO), or [] when the file
    is missing or unreadable."""
    try:
        values = read_json(path, MAX_BOOKMARKS_BYTES)
    except (OSError, UnreadableFile):
        return []
    return sorted({v for v in values if type(v) is int}) if isinstance(values, list) else []


def save_bookmark(path: Path, seed: int) -> list[int]:
    """Add a seed to bookmarks.json (replaced atomically: a link there is replaced, never written through);
    returns the new sorted list."""
    bookmarks = sorted(set(load_bookmarks(path)) | {int(seed)})
    write_atomic(path, json.dumps(bookmarks))
    return bookmarks
