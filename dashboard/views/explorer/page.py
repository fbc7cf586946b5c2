"""The latent explorer: samples from a seed, lerp/slerp strips, a great-circle loop, bookmarks, and the
memorisation check (memorization.py). While "Follow the live run" is on and the run trains, the grid and the
strips are live pictures fed by the live feed (a new picture when the generator moved on), not reruns."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from torch import nn

from dashboard.live import components
from dashboard.resources import (cached_class_strip, cached_grid, cached_strip, load_checkpoint_path,
                                 load_checkpoint_upload)
from dashboard.ui.keys import EXPLORE_REQUEST_KEY
from dashboard.ui.text import plain
from dashboard.views.explorer.memorization import render_memorization
from gan_core.config.schema import DataConfig
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.files import UnreadableFile, read_json, write_atomic
from gan_core.runs.paths import RunPaths
from gan_core.runs.vetting import CheckpointError
from gan_core.views.latent import generate, gif_bytes, great_circle_loop, png_bytes, z_from_seed

FOLLOW_REFRESH_S = 5.0  # how often a followed live run's pictures are fetched

MAX_UPLOAD_MB = 200
MAX_BOOKMARKS_BYTES = 64 << 10  # bookmarks.json: a list of seeds; more is not ours
MIN_DISPLAY_WIDTH = 420  # pixels: small images are scaled up by a whole factor to at least this


def sharp(image: np.ndarray, min_width: int = MIN_DISPLAY_WIDTH, min_scale: int = 2) -> np.ndarray:
    """Nearest-neighbour upscale by a whole factor (at least min_scale) so each pixel stays a sharp square."""
    scale = max(min_scale, -(-min_width // image.shape[1]))
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def show_image(container, image: np.ndarray, caption: str) -> None:
    """A PNG (never JPEG) at its own, whole-factor upscaled size."""
    container.image(sharp(image), caption=caption, output_format="PNG", width="content")


def render_explorer(session: TrainingSession, snapshot: Snapshot) -> None:
    """Pick a generator (the live run or a checkpoint), then sample, interpolate and walk."""
    _apply_open_request()
    follow = st.toggle("Follow the live run", value=True, key="explore.follow",
                       help=f"Resample from the current generator every {FOLLOW_REFRESH_S:.0f} s while training.")
    generator, latent_dim, source_dir, identity, data_config = _choose_generator(session, snapshot)
    if generator is None:
        return
    # Following a training run: the pictures below come from the live feed, made from the newest weights.
    live = follow and identity[:1] == ("live",) and snapshot.status == "running"
    if data_config is not None and data_config.is_points:
        st.info("This generator draws 2D points, not images: its samples, D's surface and G's mesh are in the "
                "Training view's playground (open the run from the Runs view to see its last state).")
        return
    label = render_class_picker(getattr(generator, "num_classes", 0))
    grid_tab, interp_tab, loop_tab = st.columns(3)
    with grid_tab:
        st.subheader("Samples from a seed")
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="explore.seed"))
        count = st.select_slider("How many", [4, 16, 36, 64], 16, key="explore.count")
        if live:
            _live_picture("grid", {"seed": seed, "count": count, "label": _label_field(label)})
        else:
            grid = cached_grid(generator, identity, tuple(range(seed, seed + count)), latent_dim, label)
            show_image(st, grid, f"seeds {seed}..{seed + count - 1}" + ("" if label is None else f", class {label}"))
        _render_bookmarks(seed, source_dir)
        render_memorization(generator, latent_dim, data_config, identity, tuple(range(seed, seed + count)))
    with interp_tab:
        st.subheader("Interpolate")
        render_interpolation(generator, latent_dim, identity, label, live)
        if getattr(generator, "num_classes", 0):
            if live:
                _live_picture("classes", {"seed": seed})
            else:
                render_class_strip(generator, latent_dim, identity, seed)
    with loop_tab:
        st.subheader("Great-circle loop")
        frames = int(st.number_input("Frames", 8, 120, 36, key="explore.loop_frames"))
        start = int(st.session_state.get("explore.from", 1))
        end = int(st.session_state.get("explore.to", 2))
        request = (start, end, frames, identity, label)  # a made GIF belongs to these weights and inputs
        if st.button("Make the loop", key="explore.make_gif"):
            loop = great_circle_loop(z_from_seed(start, latent_dim), z_from_seed(end, latent_dim), frames)[:-1]
            frames_made = generate(generator, loop, labels=_labels(label, loop.shape[0]))
            st.session_state["explore.gif"] = (request, gif_bytes(frames_made, frame_ms=80, scale=4))
        made = st.session_state.get("explore.gif")
        if made and made[0] == request:
            st.image(made[1], caption=f"loop through seeds {start} and {end}, {frames} frames")
            st.download_button("Download GIF", made[1], "loop.gif", "image/gif", key="download.gif")
        else:
            st.caption(f"A {frames}-frame walk on the great circle through seeds {start} and {end}: "
                       "made on request, since it costs a second of CPU.")


def render_class_picker(classes: int) -> int | None:
    """A conditional generator's class for every sample below (None: classes in turn, 0, 1, ..., K-1, 0, ...)."""
    if not classes:
        return None
    choice = st.selectbox("Class", ["each class in turn", *range(classes)], key="explore.class",
                          help="This generator is class-conditional: ask for one class, or see them in turn.")
    return None if isinstance(choice, str) else int(choice)


def render_class_strip(generator: nn.Module, latent_dim: int, identity: tuple, seed: int) -> None:
    """Between classes at a fixed seed: the same z drawn as every class, left to right."""
    strip = cached_class_strip(generator, identity, seed, latent_dim, generator.num_classes)
    st.image(sharp(strip, min_width=0), caption=f"seed {seed} as each class, 0 to {generator.num_classes - 1}",
             output_format="PNG", width="content")


def _labels(label: int | None, count: int) -> torch.Tensor | None:
    """(count,) of one class for a conditional generator; None leaves the classes in turn."""
    return None if label is None else torch.full((count,), label, dtype=torch.int64)


def _label_field(label: int | None) -> int:
    """The class as the live feed takes it: its index plus one, 0 for each class in turn."""
    return 0 if label is None else label + 1


def _live_picture(kind: str, request: dict) -> None:
    """One picture of the live generator, fetched from the live feed every FOLLOW_REFRESH_S seconds."""
    components.picture(f"explorer_{kind}", request, FOLLOW_REFRESH_S, key=f"explore.live.{kind}",
                       min_width=MIN_DISPLAY_WIDTH if kind == "grid" else 0)


def render_interpolation(generator: nn.Module, latent_dim: int, identity: tuple, label: int | None = None,
                         live: bool = False) -> None:
    """Two endpoints by seed (or random), lerp or slerp, K steps -> a strip with a PNG download (a live
    picture of the training generator while following it)."""
    if st.button("Random endpoints", key="explore.random"):
        st.session_state["explore.from"] = random.randrange(2**31)
        st.session_state["explore.to"] = random.randrange(2**31)
    left, right = st.columns(2)
    start = int(left.number_input("From seed", 0, 2**31 - 1, 1, key="explore.from"))
    end = int(right.number_input("To seed", 0, 2**31 - 1, 2, key="explore.to"))
    method = st.radio("Method", ["slerp", "lerp"], horizontal=True, key="explore.method")
    steps = int(st.number_input("Steps", 2, 32, 8, key="explore.steps"))
    strip = lambda: cached_strip(generator, identity, start, end, steps, method, latent_dim, label)  # noqa: E731
    if live:
        _live_picture("strip", {"start": start, "end": end, "steps": steps, "method": method,
                                "label": _label_field(label)})
    else:
        # Each frame at least 2x: a long strip is shown wider than the column, with a scroll bar.
        st.image(sharp(strip(), min_width=0), caption=f"{method}, {steps} steps from seed {start} to seed {end}",
                 output_format="PNG", width="content")
    st.session_state["explore.strip_length"] = steps  # read by tests and the browser check
    st.download_button("Download strip (PNG)", lambda: png_bytes(strip()), f"{method}_{start}_{end}.png",
                       "image/png", key="download.strip", on_click="ignore")  # made and encoded on click only


def _apply_open_request() -> None:
    """A checkpoint chosen elsewhere (the Runs view's "Open in latent explorer") becomes this view's source,
    set before the widgets are drawn."""
    path = st.session_state.pop(EXPLORE_REQUEST_KEY, None)
    if path:
        st.session_state["explore.source"] = "Checkpoint file"
        st.session_state["explore.path"] = path


Choice = tuple[nn.Module | None, int, str | None, tuple, DataConfig | None]


def _choose_generator(session: TrainingSession, snapshot: Snapshot) -> Choice:
    """The live run's generator copy, or one loaded from a checkpoint path or upload (weights_only), with
    the identity of its weights: (source, run or file, generation or inode, step or mtime, size), and the
    data config it was trained on."""
    source = st.radio("Generator", ["Current run", "Checkpoint file"], horizontal=True, key="explore.source")
    if source == "Current run":
        if snapshot.config is None:
            st.info("Start a run (or resume one) to explore its generator, or load a checkpoint file.")
            return None, 0, None, (), None
        generator = session.generator()
        st.caption(f"Sampling from a copy of the generator at step {snapshot.step}"
                   f"{' (EMA weights)' if snapshot.config.training.ema_decay > 0 else ''}; training is not disturbed.")
        # A restore after a non-finite loss goes back to an earlier step: the cursor's generation tells.
        identity = ("live", snapshot.run_dir, snapshot.cursor[0], snapshot.step)
        return generator, snapshot.config.model.latent_dim, snapshot.run_dir, identity, snapshot.config.data
    path_text = st.text_input("Checkpoint path", key="explore.path", placeholder="runs/.../checkpoints/latest.pt")
    upload = st.file_uploader(f"...or upload a checkpoint (.pt, at most {MAX_UPLOAD_MB} MB)", type=["pt"],
                              key="explore.upload")
    try:
        if upload is not None:
            if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
                st.error(f"The upload is {upload.size / 2**20:.0f} MB: allowed at most {MAX_UPLOAD_MB} MB.")
                return None, 0, None, (), None
            identity = ("upload", upload.file_id, upload.size)
            generator, config, step = load_checkpoint_upload(upload.getvalue(), identity)
            path = None
        elif path_text:
            path, identity = path_text, file_identity(path_text)
            generator, config, step = load_checkpoint_path(path, identity)
        else:
            return None, 0, None, (), None
    except CheckpointError as error:
        # Outside the runs root one message, whatever is there: the field must not tell what exists elsewhere.
        outside = upload is None and not within_runs_root(path_text, session.runs_root)
        st.error(plain(outside_message(path_text) if outside else error))
        return None, 0, None, (), None
    shown = "the upload" if path is None else Path(path).name
    st.caption(f"Loaded {plain(shown)} at step {step}: {plain(config.name)} ({config.model.architecture}, "
               f"latent {config.model.latent_dim}).")
    owner = RunPaths(Path(path).parent.parent) if path else None  # a checkpoint inside a run's checkpoints/
    run_dir = str(owner.root) if owner is not None and Path(path).parent == owner.checkpoints else None
    return generator, config.model.latent_dim, run_dir, identity, config.data


def within_runs_root(path: str, runs_root: str | Path) -> bool:
    """Whether path, links and '..' resolved, lies inside the runs root (where the page says what is wrong)."""
    try:
        return Path(path).expanduser().resolve().is_relative_to(Path(runs_root).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def outside_message(path: str) -> str:
    """The one refusal for a path outside the runs root, whatever is (or is not) there."""
    return (f"{path!r}: not a checkpoint here. Type the path of a checkpoint inside the runs folder, or upload "
            "the file below.")


def file_identity(path: str) -> tuple:
    """("file", path, inode, mtime_ns, size): a replaced file (an updated latest.pt) is a new identity."""
    try:
        info = os.stat(path)
    except OSError:
        return ("file", path, None, None, None)  # load_generator says what is wrong
    return ("file", path, info.st_ino, info.st_mtime_ns, info.st_size)


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
