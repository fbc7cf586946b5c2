"""Which generator the latent explorer shows: a copy of the live run's (training is not disturbed), or one loaded
from a checkpoint path inside the runs root or an upload (weights_only, sizes vetted first)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from torch import nn

from dashboard.resources import load_checkpoint_path, load_checkpoint_upload
from dashboard.ui.text import plain
from dashboard.views.explorer.state import kept
from gan_core.config.schema import DataConfig
from gan_core.control.session import TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.runs.paths import RunPaths
from gan_core.runs.vetting import CheckpointError

MAX_UPLOAD_MB = 200
SOURCES = ("Current run", "Checkpoint file")


@dataclass(frozen=True)
class Source:
    """A generator to explore and what it came from."""

    generator: nn.Module
    latent_dim: int
    run_dir: str | None  # the run folder it belongs to (for bookmarks), if any
    identity: tuple  # (source, run or file, generation or inode, step or mtime, size): its weights' version
    data_config: DataConfig | None  # the data it was trained on
    step: int  # the step of its weights

    @property
    def live(self) -> bool:
        """Whether this is the current run's generator (a copy taken at `step`)."""
        return self.identity[:1] == ("live",)


def choose_generator(session: TrainingSession, snapshot: Snapshot) -> Source | None:
    """The source radio and its fields; the chosen generator, or None (with a message) when there is none."""
    source = kept(st.radio, "Generator", SOURCES, key="explore.source", default=SOURCES[0], horizontal=True)
    if source == "Current run":
        if snapshot.config is None:
            st.info("Start a run (or resume one) to explore its generator, or load a checkpoint file.")
            return None
        generator = session.generator()
        st.caption(f"Sampling from a copy of the generator at step {snapshot.step}"
                   f"{' (EMA weights)' if snapshot.config.training.ema_decay > 0 else ''}; training is not disturbed.")
        # A restore after a non-finite loss goes back to an earlier step: the cursor's generation tells.
        identity = ("live", snapshot.run_dir, snapshot.cursor[0], snapshot.step)
        return Source(generator, snapshot.config.model.latent_dim, snapshot.run_dir, identity, snapshot.config.data,
                      snapshot.step)
    path_text = kept(st.text_input, "Checkpoint path", key="explore.path", default="",
                     placeholder="runs/.../checkpoints/latest.pt")
    upload = st.file_uploader(f"...or upload a checkpoint (.pt, at most {MAX_UPLOAD_MB} MB)", type=["pt"],
                              key="explore.upload")
    try:
        if upload is not None:
            if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
                st.error(f"The upload is {upload.size / 2**20:.0f} MB: allowed at most {MAX_UPLOAD_MB} MB.")
                return None
            identity = ("upload", upload.file_id, upload.size)
            generator, config, step = load_checkpoint_upload(upload.getvalue(), identity)
            path = None
        elif path_text:
            path, identity = path_text, file_identity(path_text)
            generator, config, step = load_checkpoint_path(path, identity)
        else:
            return None
    except CheckpointError as error:
        # Outside the runs root one message, whatever is there: the field must not tell what exists elsewhere.
        outside = upload is None and not within_runs_root(path_text, session.runs_root)
        st.error(plain(outside_message(path_text) if outside else error))
        return None
    shown = "the upload" if path is None else Path(path).name
    st.caption(f"Loaded {plain(shown)} at step {step}: {plain(config.name)} ({config.model.architecture}, "
               f"latent {config.model.latent_dim}).")
    owner = RunPaths(Path(path).parent.parent) if path else None  # a checkpoint inside a run's checkpoints/
    run_dir = str(owner.root) if owner is not None and Path(path).parent == owner.checkpoints else None
    return Source(generator, config.model.latent_dim, run_dir, identity, config.data, step)


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
