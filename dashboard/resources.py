"""Everything the page keeps between reruns: the server's one TrainingSession and A/B runner, data sets, grids,
generators loaded from checkpoints, explorer pictures, the memorisation check's evaluator, upload previews.
Every st.cache_* of the dashboard is here, so what lives how long shows in one file; register_feed hands
the singletons to the live feed (live/feed.py), which reads them from its own threads."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from torch import nn

from dashboard.live import feed, samples
from dashboard.live.messages import png_base64
from dashboard.ui import charts
from gan_core.config.schema import DataConfig, RunConfig
from gan_core.control import warmup
from gan_core.control.ab import ABRunner
from gan_core.control.session import TrainingSession
from gan_core.data import image_import
from gan_core.data.datasets import load_dataset
from gan_core.quality.evaluator import Evaluator
from gan_core.quality.memorization import (RatioReport, held_out_count, nearest_training_images, run_distance_ratio,
                                           training_features)
from gan_core.runs.checkpoint import load_generator
from gan_core.views.latent import generate, image_grid, zs_from_seeds

NEIGHBOURS = 5  # the memorisation check's nearest training images
RATIO_SEED_BASE = 1_000_000  # the ratio's samples: seeds 1,000,000.., away from the seeds people type
PREVIEW_COUNT = 64
PREVIEW_MIN_WIDTH = 256  # px: a grid of small images is enlarged by whole pixels, so it stays sharp
PREVIEW_MAX_SIDE = 64  # px per preview tile


def data_root(runs_root: str | Path) -> Path:
    """Where uploaded data sets go: the runs root's data folder."""
    return Path(runs_root) / "data"


# ---- singletons: one per server process ----------------------------------------------------------

@st.cache_resource
def get_session() -> TrainingSession:
    """One TrainingSession per server process: a refresh or a second tab sees the same run."""
    runs_root = os.environ.get("GAN_WORKBENCH_RUNS", "runs")
    image_import.clean_staging_folders(data_root(runs_root))  # once per server: what a killed import left behind
    return TrainingSession(runs_root=runs_root)


@st.cache_resource
def get_ab_runner() -> ABRunner:
    """One A/B runner per server process, beside the session: a refresh or a second tab sees the same pair."""
    return ABRunner()


def register_feed(session: TrainingSession, runner: ABRunner) -> None:
    """Give the live feed what it reports on, with the cached loaders its frames and images use."""
    feed.register(session, real_png, runner, cached_dataset)


# ---- data --------------------------------------------------------------------------------------

@st.cache_resource(max_entries=2, show_spinner="Loading the data set...")
def cached_dataset(data_config: DataConfig):
    """The data set loaded once per server for a data config (read-only), so Start takes no seconds to load it."""
    return load_dataset(data_config)


def warm_engine(config: RunConfig) -> None:
    """Load this config's data set (cached) and warm the engine up for it in the background (control/warmup.py):
    keyed by what builds the models, so an edit that changes nothing there starts nothing; Start then begins at
    once. Data errors raise here, so the page can say why Start is off."""
    warmup.warm_up(config, cached_dataset(config.data))


@st.cache_data(max_entries=8, show_spinner=False)
def real_grid(data_config: DataConfig, count: int = 64) -> np.ndarray:
    """A grid of real images spread over the data set, for comparison with the samples."""
    dataset = cached_dataset(data_config)
    stride = max(1, len(dataset) // count)
    return image_grid(dataset.images[::stride][:count])


@st.cache_data(max_entries=8, show_spinner=False)
def real_png(data_config: DataConfig) -> str:
    """The real-image grid as base64 PNG, made once per data set."""
    return png_base64(real_grid(data_config))


@st.cache_data(max_entries=64, show_spinner=False)
def objectives_figure(d_fake: float | None):
    """The explainer's figure for a rounded D(G(z)); plotly builds its first figure slowly (~0.8 s)."""
    return charts.objectives_figure(charts.objective_curves(), d_fake)


# ---- the latent explorer -----------------------------------------------------------------------

@st.cache_resource(max_entries=4, show_spinner=False)
def load_checkpoint_path(path: str, identity: tuple):
    """A generator from a checkpoint file, loaded with weights_only=True; reloaded when the file changes."""
    generator, config, state = load_generator(path)
    return generator, config, int(state.get("step", 0))


@st.cache_resource(max_entries=2, show_spinner=False)
def load_checkpoint_upload(_data: bytes, identity: tuple):
    """An uploaded checkpoint, written to a temp file and loaded with weights_only=True (never unpickled);
    kept per upload (its file id), so a rerun does not load it again."""
    with tempfile.NamedTemporaryFile(suffix=".pt") as file:
        file.write(_data)
        file.flush()
        generator, config, state = load_generator(file.name, name="the uploaded file")  # no server path in messages
    return generator, config, int(state.get("step", 0))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_grid(_generator: nn.Module, identity: tuple, seeds: tuple[int, ...], latent_dim: int,
                label: int | None = None) -> np.ndarray:
    """The sample grid for these seeds (of one class, for a conditional G), made once per (weights, inputs)."""
    return samples.grid_image(_generator, seeds, latent_dim, label)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_strip(_generator: nn.Module, identity: tuple, start: int, end: int, steps: int, method: str,
                 latent_dim: int, label: int | None = None) -> np.ndarray:
    """The interpolation strip between two seeds (within one class, for a conditional G), made once per inputs."""
    return samples.strip_image(_generator, start, end, steps, method, latent_dim, label)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_class_strip(_generator: nn.Module, identity: tuple, seed: int, latent_dim: int, classes: int) -> np.ndarray:
    """One seed's z as each class in turn: (classes,) images in a row, made once per (weights, seed)."""
    return samples.class_strip_image(_generator, seed, latent_dim, classes)


@dataclass(frozen=True)
class Reference:
    """A data set's evaluator and its training images' features (N, 128), made once per data config."""

    evaluator: Evaluator
    features: torch.Tensor


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
    samples_ = generate(_generator, zs_from_seeds(range(RATIO_SEED_BASE, RATIO_SEED_BASE + count), latent_dim))
    return run_distance_ratio(reference.evaluator, reference.features, samples_)


# ---- uploads -----------------------------------------------------------------------------------

@st.cache_resource(max_entries=8, show_spinner=False)
def folder_preview(folder: str, stamp: tuple[int, int]) -> tuple[np.ndarray | None, dict[str, int], str]:
    """(grid image or None, images per class folder ("" at the top), 'HxW RGB' of the first image) of a folder;
    `stamp` (inode, mtime) makes a replaced folder a new cache entry."""
    from PIL import Image, ImageOps

    root = Path(folder)
    files = sorted(p for p in root.rglob("*")
                   if p.suffix.lower() in image_import.IMAGE_SUFFIXES and p.is_file() and not p.is_symlink())
    per_class: dict[str, int] = {}
    for file in files:
        label = "" if file.parent == root else file.parent.relative_to(root).parts[0]
        per_class[label] = per_class.get(label, 0) + 1
    tiles, mode, side, shape = [], None, 0, ""
    for file in files[::max(1, len(files) // PREVIEW_COUNT)][:PREVIEW_COUNT]:
        try:
            with Image.open(file) as image:
                if image.width * image.height > image_import.MAX_IMAGE_PIXELS:  # from the header, not decoded
                    continue
                if mode is None:  # the first readable image sets the tiles' mode and side
                    mode = "L" if image.mode in ("1", "L", "LA", "I", "I;16") else "RGB"
                    side = min(image.width, image.height, PREVIEW_MAX_SIDE)
                    shape = f"{image.width}×{image.height} {'grayscale' if mode == 'L' else 'RGB'}"
                tile = ImageOps.fit(image.convert(mode), (side, side))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        array = np.asarray(tile, dtype=np.uint8)
        tiles.append(array[..., None] if array.ndim == 2 else array)
    if not tiles:
        return None, per_class, shape
    batch = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, C, H, W)
    grid = image_grid(batch, columns=min(8, len(tiles)), pad_value=255)
    scale = max(1, PREVIEW_MIN_WIDTH // grid.shape[1])
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return (grid[..., 0] if grid.shape[-1] == 1 else grid), per_class, shape
