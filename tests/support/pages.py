"""Helpers for AppTest (streamlit.testing.v1) tests of the dashboard page: where it is, a tiny config chosen in
its sidebar, a checkpoint opened in the latent explorer, and its markdown read back as plain text."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")  # the page, as AppTest.from_file loads it (and the server, as `streamlit run` does)


def choose_tiny_config(at: AppTest) -> None:
    """Shrink the sidebar's default preset to a tiny MLP on 400 digits, on the CPU."""
    at.selectbox(key="cfg.model.architecture").set_value("mlp").run()
    for key, value in (("cfg.model.hidden_dim", 16), ("cfg.model.latent_dim", 8), ("cfg.data.limit", 400),
                       ("cfg.training.batch_size", 16), ("cfg.training.checkpoint_every", 50),
                       ("cfg.training.eval_every", 0)):
        at.number_input(key=key).set_value(value)
    at.selectbox(key="cfg.model.discriminator_norm").set_value("none")
    at.selectbox(key="cfg.training.device").set_value("cpu").run()


def open_in_explorer(checkpoint: Path) -> AppTest:
    """A fresh page on the Latent explorer view with checkpoint opened from its file; fails if the page raised."""
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.radio(key="view").set_value("Latent explorer").run()
    at.radio(key="explore.source").set_value("Checkpoint file").run()
    at.text_input(key="explore.path").set_value(str(checkpoint)).run()
    assert not at.exception
    return at


def unescaped(text: str) -> str:
    """Markdown text with plain()'s backslash escapes taken off."""
    return re.sub(r"\\(.)", r"\1", text)
