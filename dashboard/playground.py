"""The 2D playground's view (#11): what the canvas shows, computed from copies of G and D, sent compactly.

compute_views evaluates the engine's view functions (gan_core.toy_views) on model copies, off the training
thread; playground_message turns them into one small message (surface as 64 x 64 bytes, points as float32)
and sends the real points only when the run changes. Both are pure functions, tested without a browser.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gan_core.toy_views import SURFACE_CELLS, decision_surface, generator_arrows, manifold_mesh

STATIC = Path(__file__).resolve().parent / "static"
FAKE_POINTS = 256
REAL_POINTS = 1000
VIEW_MARGIN = 0.2  # the visible box is the real points' box widened by 20% on each side, made square


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


def view_bounds(real: torch.Tensor) -> tuple[float, float, float, float]:
    """A square box around the real points with a margin, so the whole game stays in view."""
    low, high = real.min(dim=0).values, real.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * VIEW_MARGIN) + 1e-3
    return (float(centre[0]) - half, float(centre[1]) - half, float(centre[0]) + half, float(centre[1]) + half)


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
