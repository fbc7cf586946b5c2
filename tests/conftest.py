"""Shared fixtures: tiny configs and a small in-memory data set so tests run in seconds on the CPU."""

from __future__ import annotations

import pytest
import torch

from gan_core.config.schema import DataConfig, ModelConfig, OptimizerConfig, RunConfig, TrainingConfig
from gan_core.data.datasets import ImageDataset


def tiny_config(**training) -> RunConfig:
    """An MLP GAN small enough for hundreds of steps a second, on mnist5k's first 400 digits."""
    return RunConfig(
        name="tiny",
        data=DataConfig(name="mnist5k", limit=400),
        model=ModelConfig(architecture="mlp", latent_dim=8, hidden_dim=16, depth=1),
        optimizer=OptimizerConfig(),
        training=TrainingConfig(**{"batch_size": 16, "device": "cpu", "sample_every": 10,
                                   "checkpoint_every": 10, "grid_size": 16, "eval_every": 0, **training}),
    )


@pytest.fixture(autouse=True)
def evaluator_cache(tmp_path_factory, monkeypatch):
    """Evaluator caches go to a per-session temp folder, never the user's ~/.cache."""
    monkeypatch.setenv("GAN_WORKBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "evaluator-cache"))


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """An empty runs folder for the dashboard (GAN_WORKBENCH_RUNS), with Streamlit's caches cleared around
    the test so no session or data set of another test is found."""
    import streamlit as st

    root = tmp_path / "runs"
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(root))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield root
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def tiny() -> RunConfig:
    return tiny_config()


@pytest.fixture
def toy_dataset() -> ImageDataset:
    """64 random 1x8x8 images in [-1, 1] with 4 labels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 8, 8, generator=generator) * 2 - 1
    return ImageDataset(images=images, labels=torch.arange(64) % 4, name="toy")
