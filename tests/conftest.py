"""Shared fixtures: tiny configs and a small in-memory data set so tests run in seconds on the CPU. Only
fixtures live here; helpers that tests import live in tests/support."""

from __future__ import annotations

import sys

import pytest
import torch

from gan_core.config.schema import RunConfig
from gan_core.data.datasets import ImageDataset
from tests.support.configs import tiny_config


@pytest.fixture(autouse=True)
def page_tests_are_marked(request, monkeypatch):
    """A test that loads the page through AppTest must be marked apptest (or browser): `make check` leaves
    those out, and an unmarked one would slow the fast tier unseen."""
    testing = sys.modules.get("streamlit.testing.v1")  # imported by every module that uses AppTest
    if testing is None or request.node.get_closest_marker("apptest") or request.node.get_closest_marker("browser"):
        return

    def refuse(cls, *args, **kwargs):
        pytest.fail(f"{request.node.nodeid} runs the page through AppTest: mark it @pytest.mark.apptest")

    monkeypatch.setattr(testing.AppTest, "from_file", classmethod(refuse))


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
    """support.configs.tiny_config() with its defaults."""
    return tiny_config()


@pytest.fixture
def toy_dataset() -> ImageDataset:
    """64 random 1x8x8 images in [-1, 1] with 4 labels."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(64, 1, 8, 8, generator=generator) * 2 - 1
    return ImageDataset(images=images, labels=torch.arange(64) % 4, name="toy")
