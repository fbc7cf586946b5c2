"""Pictures of 2D samples (#11): a scatter of fake points over the real ones, as an (H, W, 3) uint8 array.

The run directory's samples/step_<n>.png and the session's live grid are images; for point data they are
these scatter plots, so the saved-grid timeline, the Runs view and the CLI's `sample` work unchanged.
"""

from __future__ import annotations

import numpy as np
import torch

from gan_core.views.latent import image_grid

PLOT_SIZE = 256
VIEW_MARGIN = 0.2  # the box is the real points' box widened by 20% on each side, made square
REAL_RGB = (166, 217, 106)  # light green, as the playground's real points (fainter: they are context)
FAKE_RGB = (123, 50, 148)  # the playground's purple
MAX_REAL_DRAWN = 2000


def view_bounds(real: torch.Tensor) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1): a square box around points (N, 2) with a margin, so the whole game stays in view."""
    low, high = real.min(dim=0).values, real.max(dim=0).values
    centre, half = (low + high) / 2, float((high - low).max()) / 2 * (1 + 2 * VIEW_MARGIN) + 1e-3
    return (float(centre[0]) - half, float(centre[1]) - half, float(centre[0]) + half, float(centre[1]) + half)


def _dots(canvas: np.ndarray, points: np.ndarray, bounds: tuple[float, float, float, float],
          rgb: tuple[int, int, int], radius: int) -> None:
    """Paint (2r+1)^2-pixel squares at points (N, 2) inside bounds onto canvas (S, S, 3), in place."""
    size = canvas.shape[0]
    x0, y0, x1, y1 = bounds
    finite = points[np.isfinite(points).all(axis=1)]
    cols = np.floor((finite[:, 0] - x0) / (x1 - x0) * size).astype(np.int64)
    rows = size - 1 - np.floor((finite[:, 1] - y0) / (y1 - y0) * size).astype(np.int64)  # y up
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            canvas[r[inside], c[inside]] = rgb


def scatter_image(fake: torch.Tensor, real: torch.Tensor, size: int = PLOT_SIZE) -> np.ndarray:
    """(size, size, 3) uint8: real points (N, 2) faint, fake points (F, 2) on top, in the real points' box."""
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    bounds = view_bounds(real)
    step = max(1, real.shape[0] // MAX_REAL_DRAWN)
    _dots(canvas, real[::step].detach().float().cpu().numpy(), bounds, REAL_RGB, 0)
    _dots(canvas, fake.detach().float().cpu().numpy(), bounds, FAKE_RGB, 1)
    canvas[[0, -1], :] = canvas[:, [0, -1]] = 190  # a frame: the plot's edge is the view's edge
    return canvas


def samples_image(samples: torch.Tensor, real: torch.Tensor, columns: int | None = None) -> np.ndarray:
    """One picture of samples: a grid for images (N, C, H, W) (`columns` wide; None: square), a scatter over
    `real` for points (N, 2)."""
    return scatter_image(samples, real) if samples.ndim == 2 else image_grid(samples, columns=columns)
