"""The 2D playground's frames (#11): what the canvas shows, computed from copies of G and D, sent compactly.

compute_views evaluates the engine's view functions (gan_core.views.toy_views) on model copies, off the training
thread; playground_message turns them into one small message (surface as 64 x 64 bytes, points as float32)
and sends the real points only when the run changes. Pure functions, tested without a browser; the live feed
(live/feed.py) computes a frame only when the run has moved on since the frame the browser holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dashboard.live.messages import encode
from gan_core.config.fields import live_values
from gan_core.config.schema import RunConfig
from gan_core.views.point_plot import view_bounds
from gan_core.views.toy_views import SURFACE_CELLS, decision_surface, generator_arrows, manifold_mesh

FAKE_POINTS = 256
REAL_POINTS = 1000


def config_key(config: RunConfig | None) -> str:
    """A short fingerprint of a run's live settings: a frame drawn before a live change (the loss sets G's
    arrows) is not the frame after it, though the step is the same (a change applied while paused)."""
    if config is None:
        return ""
    return hashlib.sha1(repr(sorted(live_values(config).items())).encode()).hexdigest()[:12]


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


def playground_message(views: PlaygroundViews, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, new sent record): this frame for the canvas; the real points only if this tab lacks them."""
    seq = int(sent.get("seq", 0)) + 1
    surface = np.clip(np.rint(views.surface * 255), 0, 255).astype(np.uint8)  # (cells, cells) bytes
    message: dict[str, Any] = {
        "seq": seq, "run": views.run, "step": views.step, "bounds": list(views.bounds),
        "fake": encode(views.fake.astype(np.float32)), "arrows": encode(views.arrows.astype(np.float32)),
        "surface": encode(surface), "cells": int(surface.shape[0]),
        "mesh": None if views.mesh is None else encode(views.mesh.astype(np.float32)),
        "lines": 0 if views.mesh is None else int(views.mesh.shape[0]),
    }
    if sent.get("run") != views.run:
        message["real"] = encode(views.real.astype(np.float32))
    return message, {"seq": seq, "run": views.run, "step": views.step}


IDLE_BOUNDS = (-4.0, -4.0, 4.0, 4.0)  # the canvas box before any data (drawing a distribution from scratch)


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


def ab_views(models, config, run_dir: str, real: torch.Tensor) -> PlaygroundViews:
    """A frame of one A/B side from copies of its G and D (ABRunner.models), with its own loss (the arrows)
    and latent size; the data alone before its models exist."""
    if models is None:
        return data_views(run_dir, real)
    return compute_views(run_dir, models.step, models.generator.cpu(), models.discriminator.cpu(), real,
                         fixed_noise(config.model.latent_dim, config.training.seed), config.loss.loss,
                         view_bounds(real))
