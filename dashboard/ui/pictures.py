"""Pure picture helpers for the latent explorer: sharp whole-factor upscales, strips laid out in rows so each
frame shows at 2x or more at 1024 px wide and up, and a point drawn into a 2D scatter. numpy only, no Streamlit."""

from __future__ import annotations

import math

import numpy as np

MIN_DISPLAY_WIDTH = 420  # pixels: a sample grid is scaled up by a whole factor to at least this
FRAME_MIN_PX = 56  # a strip's frame on screen: at least 2x a 28-px digit
ROW_MAX_PX = 560  # a strip's row on screen: fits the main column of a 1024-px window beside the sidebar
PADDING = 2  # image_grid's padding between tiles


def sharp(image: np.ndarray, min_width: int = MIN_DISPLAY_WIDTH, min_scale: int = 2) -> np.ndarray:
    """Nearest-neighbour upscale by a whole factor (at least min_scale) so each pixel stays a sharp square."""
    scale = max(min_scale, -(-min_width // image.shape[1]))
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def strip_layout(frame_width: int, frames: int) -> tuple[int, int]:
    """(scale, frames per row) for a strip of `frames` frames `frame_width` px wide: each frame at least
    FRAME_MIN_PX on screen (and at least 2x), each row at most ROW_MAX_PX, rows as even as they can be."""
    scale = max(2, math.ceil(FRAME_MIN_PX / frame_width))
    most = max(1, (ROW_MAX_PX // scale - PADDING) // (frame_width + PADDING))
    rows = math.ceil(frames / most)
    return scale, math.ceil(frames / rows)


def strip_frames(strip: np.ndarray, frames: int) -> list[np.ndarray]:
    """The frames (H, W, C) of a one-row image_grid strip of `frames` tiles with PADDING between them."""
    height = strip.shape[0] - 2 * PADDING
    width = (strip.shape[1] - PADDING) // frames - PADDING
    return [strip[PADDING: PADDING + height, PADDING + i * (width + PADDING): PADDING + i * (width + PADDING) + width]
            for i in range(frames)]


def tile(frames: list[np.ndarray], columns: int, pad_value: int = 0) -> np.ndarray:
    """Frames (H, W, C) laid out `columns` to a row with PADDING between them, as image_grid does."""
    height, width, channels = frames[0].shape
    rows = math.ceil(len(frames) / columns)
    grid = np.full((rows * (height + PADDING) + PADDING, columns * (width + PADDING) + PADDING, channels),
                   pad_value, dtype=np.uint8)
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        top, left = PADDING + row * (height + PADDING), PADDING + column * (width + PADDING)
        grid[top: top + height, left: left + width] = frame
    return grid


def wrapped_strip(strip: np.ndarray, frames: int) -> np.ndarray:
    """A one-row strip re-laid in rows (strip_layout) and scaled up by a whole factor: ready to show as it is."""
    pieces = strip_frames(strip, frames)
    scale, columns = strip_layout(pieces[0].shape[1], frames)
    return sharp(tile(pieces, columns), min_width=0, min_scale=scale)


def mark_points(canvas: np.ndarray, points: np.ndarray, bounds: tuple[float, float, float, float],
                rgb: tuple[int, int, int], radius: int = 3) -> np.ndarray:
    """A copy of a scatter picture (S, S, 3) with squares of 2*radius+1 px at points (N, 2) inside bounds
    (x0, y0, x1, y1), y up; points outside the picture are left out."""
    marked = canvas.copy()
    size = marked.shape[0]
    x0, y0, x1, y1 = bounds
    for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        column = int(math.floor((x - x0) / (x1 - x0) * size))
        row = size - 1 - int(math.floor((y - y0) / (y1 - y0) * size))
        top, left = max(0, row - radius), max(0, column - radius)
        marked[top: max(0, row + radius + 1), left: max(0, column + radius + 1)] = rgb
    return marked
