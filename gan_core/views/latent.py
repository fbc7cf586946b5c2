"""The latent toolkit: seeds -> z, lerp/slerp, paths and loops, generation, image grids, PNG/GIF export."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

# Below this angle (radians) slerp's sin(omega) divisor loses precision; lerp is then exact enough.
_PARALLEL_EPS = 1e-4


def z_from_seed(seed: int, latent_dim: int) -> torch.Tensor:
    """The latent vector for a seed, (latent_dim,) float32 on the CPU; the same on every device and run."""
    if not (isinstance(seed, int) and 0 <= seed < 2**63):
        raise ValueError(f"seed={seed!r} is invalid: allowed an integer from 0 to 2**63 - 1")
    # A CPU generator's stream is fixed by the seed alone; CUDA streams differ, so move afterwards.
    return torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed))


def zs_from_seeds(seeds: Sequence[int], latent_dim: int) -> torch.Tensor:
    """One z per seed, stacked: (len(seeds), latent_dim)."""
    return torch.stack([z_from_seed(int(seed), latent_dim) for seed in seeds])


def _as_t(t: torch.Tensor | float | Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """t as a column (K, 1) in like's dtype and device."""
    return torch.as_tensor(t, dtype=like.dtype, device=like.device).reshape(-1, 1)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float | Sequence[float]) -> torch.Tensor:
    """Straight-line interpolation: (D,), (D,), K values of t -> (K, D)."""
    t = _as_t(t, a)
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float | Sequence[float]) -> torch.Tensor:
    """Spherical interpolation along the great circle from a to b: (D,), (D,), K values of t -> (K, D).

    Directions move at constant angular speed; the norm goes linearly from |a| to |b| (so it is
    constant for equal-norm endpoints). Endpoints are exact. Nearly parallel vectors fall back to
    lerp; opposite vectors, whose great circle is not unique, take a fixed circle through a
    direction orthogonal to a, so no NaN appears.
    """
    t_out = _as_t(t, a)
    # The angle in float64: in float32, nearly opposite vectors look merely close to opposite.
    a64, b64, t = a.double(), b.double(), t_out.double()
    norm_a, norm_b = a64.norm(), b64.norm()
    if norm_a == 0 or norm_b == 0:
        result = lerp(a64, b64, t)
    else:
        unit_a, unit_b = a64 / norm_a, b64 / norm_b
        omega = torch.arccos(torch.clamp(torch.dot(unit_a, unit_b), -1.0, 1.0))
        if omega < _PARALLEL_EPS:
            result = lerp(a64, b64, t)
        else:
            if math.pi - omega < _PARALLEL_EPS:
                # Opposite: pick the great circle through a unit vector orthogonal to a.
                omega = torch.tensor(math.pi, dtype=torch.float64)
                unit_b = _orthogonal_unit(unit_a)
                direction = torch.cos(t * omega) * unit_a + torch.sin(t * omega) * unit_b
            else:
                direction = (torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b) / torch.sin(omega)
            result = direction * (norm_a + (norm_b - norm_a) * t)
    result = result.to(a.dtype)
    t = t_out
    # Exact endpoints whatever rounding did.
    result = torch.where(t == 0, a.expand_as(result), result)
    return torch.where(t == 1, b.expand_as(result), result)


def _orthogonal_unit(unit: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to unit, chosen deterministically (Gram-Schmidt on the weakest axis)."""
    basis = torch.zeros_like(unit)
    basis[int(torch.argmin(unit.abs()))] = 1.0
    other = basis - torch.dot(basis, unit) * unit
    return other / other.norm()


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """steps points from a to b inclusive by lerp or slerp: (steps, D)."""
    if method not in ("lerp", "slerp"):
        raise ValueError(f"method={method!r} is invalid: allowed lerp or slerp")
    if not (isinstance(steps, int) and steps >= 2):
        raise ValueError(f"steps={steps!r} is invalid: allowed an integer >= 2")
    t = torch.linspace(0.0, 1.0, steps)
    return (lerp if method == "lerp" else slerp)(a, b, t)


def great_circle_loop(a: torch.Tensor, b: torch.Tensor, frames: int) -> torch.Tensor:
    """A closed walk on the great circle through a and b, radius |a|: (frames + 1, D), last == first."""
    if not (isinstance(frames, int) and frames >= 3):
        raise ValueError(f"frames={frames!r} is invalid: allowed an integer >= 3")
    radius = a.norm()
    unit_a = a / radius
    other = b - torch.dot(b, unit_a) * unit_a
    unit_b = other / other.norm() if other.norm() > 1e-6 else _orthogonal_unit(unit_a)
    theta = torch.linspace(0.0, 2 * math.pi, frames + 1, dtype=a.dtype).reshape(-1, 1)
    loop = radius * (torch.cos(theta) * unit_a + torch.sin(theta) * unit_b)
    loop[0], loop[-1] = a, a  # exactly back at the start
    return loop


def generate(generator: nn.Module, z: torch.Tensor, batch_size: int = 256,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images for z (N, latent_dim) in eval mode and inference_mode: (N, C, H, W) float32 in [-1, 1] on the CPU
    (points (N, 2) for a 2D toy's generator, unclamped: they live on the plane, not in [-1, 1]).

    labels (N,): the requested classes for a conditional generator (left out: classes in turn)."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    outputs = []
    with torch.inference_mode():
        for start in range(0, z.shape[0], batch_size):
            extra = () if labels is None else (labels[start: start + batch_size].to(device),)
            outputs.append(generator(z[start: start + batch_size].to(device), *extra).float().cpu())
    generator.train(was_training)
    samples = torch.cat(outputs)
    return samples.clamp_(-1.0, 1.0) if samples.ndim == 4 else samples


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8."""
    scaled = ((images.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).numpy()


def image_grid(images: torch.Tensor, columns: int | None = None, padding: int = 2,
               pad_value: int = 0) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one grid image (rows * (H + p) + p, cols * (W + p) + p, C) uint8."""
    tiles = to_uint8(images)
    count, height, width, channels = tiles.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                   pad_value, dtype=np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top: top + height, left: left + width] = tiles[index]
    return grid


def _pil(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def save_png(array: np.ndarray, path: str | os.PathLike) -> Path:
    """Write an (H, W, C) uint8 array as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _pil(array).save(path, format="PNG")
    return path


def save_strip(images: torch.Tensor, path: str | os.PathLike, padding: int = 2) -> Path:
    """Write (N, C, H, W) images side by side in one row as a PNG strip."""
    return save_png(image_grid(images, columns=images.shape[0], padding=padding), path)


def gif_bytes(images: torch.Tensor, frame_ms: int = 80, scale: int = 1) -> bytes:
    """An animated, looping GIF of (N, C, H, W) images, one frame each, as bytes."""
    frames = [_pil(np.repeat(np.repeat(tile, scale, 0), scale, 1)) for tile in to_uint8(images)]
    frames = [frame.convert("P") if frame.mode == "RGB" else frame for frame in frames]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms,
                   loop=0, disposal=2, optimize=False)
    return buffer.getvalue()


def png_bytes(array: np.ndarray) -> bytes:
    """An (H, W, C) uint8 array encoded as PNG bytes (for downloads)."""
    buffer = io.BytesIO()
    _pil(array).save(buffer, format="PNG")
    return buffer.getvalue()
