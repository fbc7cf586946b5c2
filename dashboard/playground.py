"""The 2D playground's view (#11): what the canvas shows, computed from copies of G and D, sent compactly.

compute_views evaluates the engine's view functions (gan_core.views.toy_views) on model copies, off the training
thread; playground_message turns them into one small message (surface as 64 x 64 bytes, points as float32)
and sends the real points only when the run changes. Both are pure functions, tested without a browser.
render_playground mounts the canvas component (dashboard/static/playground.js) in the Training view of a
2D run, computing a frame only when the run has moved on (a paused run costs nothing).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
import torch
from torch import nn

from gan_core.views.point_plot import view_bounds
from gan_core.views.toy_views import SURFACE_CELLS, decision_surface, generator_arrows, manifold_mesh

STATIC = Path(__file__).resolve().parent / "static"
FAKE_POINTS = 256
REAL_POINTS = 1000


@dataclass(frozen=True)
class PlaygroundViews:
    """Everything one frame of the playground shows, as NumPy arrays in data coordinates."""

    run: str
    step: int
    real: np.ndarray  # (N, 2) float32
    fake: np.ndarray  # (F, 2) float32
    arrows: np.ndarray  # (F, 2) float32: -dL_G/dx at each fake point
    surface: np.ndarray  # (cells, cells) float32 in [0, 1], row 0 the lowest y
    mesh: np.ndarray | None  # (lines, lines, 2) float32, or None unless the latent is 2D
    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1


def fixed_noise(latent_size: int, seed: int = 0, count: int = FAKE_POINTS) -> torch.Tensor:
    """The same z for every frame (count, latent_size), so the fakes' motion is G's, not the noise's."""
    return torch.randn(count, latent_size, generator=torch.Generator().manual_seed(seed))


def compute_views(run: str, step: int, generator: nn.Module, discriminator: nn.Module, real: torch.Tensor,
                  noise: torch.Tensor, loss_name: str, bounds: tuple[float, float, float, float]) -> PlaygroundViews:
    """One frame from copies of G and D: fakes G(noise), D's surface over bounds, arrows, mesh."""
    with torch.no_grad():
        was_training = generator.training
        generator.eval()
        fake = generator(noise).reshape(-1, 2)
        generator.train(was_training)
    arrows = generator_arrows(discriminator, fake, loss_name)
    surface = decision_surface(discriminator, bounds[:2], bounds[2:], SURFACE_CELLS)
    mesh = manifold_mesh(generator, noise.shape[1])
    as_np = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    return PlaygroundViews(run, step, as_np(real[:REAL_POINTS]), as_np(fake), as_np(arrows), as_np(surface),
                           None if mesh is None else as_np(mesh), bounds)


def _encode(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def playground_message(views: PlaygroundViews, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record): this frame for the canvas; the real points only if this tab lacks them."""
    seq = int(sent.get("seq", 0)) + 1
    surface = np.clip(np.rint(views.surface * 255), 0, 255).astype(np.uint8)  # (cells, cells) bytes
    message: dict[str, Any] = {
        "seq": seq, "run": views.run, "step": views.step, "bounds": list(views.bounds),
        "fake": _encode(views.fake.astype(np.float32)), "arrows": _encode(views.arrows.astype(np.float32)),
        "surface": _encode(surface), "cells": int(surface.shape[0]),
        "mesh": None if views.mesh is None else _encode(views.mesh.astype(np.float32)),
        "lines": 0 if views.mesh is None else int(views.mesh.shape[0]),
    }
    if sent.get("run") != views.run:
        message["real"] = _encode(views.real.astype(np.float32))
    return message, {"seq": seq, "run": views.run}


IDLE_BOUNDS = (-4.0, -4.0, 4.0, 4.0)  # the canvas box before any data (drawing a distribution from scratch)

# Shipped inside the package and passed inline: nothing is fetched at run time.
_playground_component = st.components.v2.component(
    "gan_workbench.playground", js=(STATIC / "playground.js").read_text(encoding="utf-8"),
    css=(STATIC / "live.css").read_text(encoding="utf-8"), isolate_styles=False)


def data_views(label: str, real: torch.Tensor | None) -> PlaygroundViews:
    """A frame with the data alone (no run yet): real points, nothing else; an empty box without data."""
    empty = np.zeros((0, 2), dtype=np.float32)
    if real is None or len(real) < 2:
        return PlaygroundViews(label, 0, empty, empty, empty, np.zeros((0, 0), np.float32), None, IDLE_BOUNDS)
    real_np = real[:REAL_POINTS].detach().cpu().numpy().astype(np.float32)
    return PlaygroundViews(label, 0, real_np, empty, empty, np.zeros((0, 0), np.float32), None, view_bounds(real))


def run_views(session, snapshot, real: torch.Tensor) -> PlaygroundViews:
    """The current frame of the session's 2D run, from copies of its G and D."""
    config = snapshot.config
    generator, discriminator = session.generator(), session.discriminator()
    return compute_views(snapshot.run_dir or "", snapshot.step, generator, discriminator, real,
                         fixed_noise(config.model.latent_dim, config.training.seed), config.loss.loss,
                         view_bounds(real))


def render_playground(views_for, frame_id: tuple, on_drawn, key: str = "playground") -> None:
    """Mount the canvas with the frame for frame_id, computed by views_for() only when frame_id changed.

    frame_id names what the frame shows (run, step, data): a rerun at the same step resends the same
    message (same seq), so neither Python nor the browser redoes anything while the run stands still.
    """
    state = st.session_state
    cached = state.get(f"{key}.frame")
    if cached is None or cached[0] != frame_id:
        message, record = playground_message(views_for(), state.get(f"{key}.sent", {}))
        state[f"{key}.sent"] = record
        cached = (frame_id, message)
        state[f"{key}.frame"] = cached
    message = dict(cached[1], key=key)
    _playground_component(key=key, data=message, on_drawn_change=on_drawn)


def drawn_points(key: str = "playground") -> list[list[float]] | None:
    """The points the user sent with "Use drawn points", as [[x, y], ...] (unvetted: the config vets them)."""
    value = st.session_state.get(key)
    drawn = value.get("drawn") if hasattr(value, "get") else None
    points = drawn.get("points") if isinstance(drawn, dict) else None
    return points if isinstance(points, list) else None
