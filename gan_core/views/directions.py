"""Interpretable directions in z of the current generator: SeFa (Shen & Zhou 2021, closed form: eigenvectors of
W^T W for G's first layer W acting on z) and GANSpace-style PCA (Haerkoenen et al. 2020: principal components
of the first layer's activations over many z, mapped back to z by least squares). Both give unit rows in z.

A self-conditioned G reads its cluster off z[:, 0], so its directions leave z[:, 0] alone: a walk along
them stays in the cluster it started in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gan_core.views.codes import latent_codes
from gan_core.views.latent import generate

DIRECTION_METHODS = ("sefa", "pca")
MAX_EXTENT = 20.0  # how far a strip may walk along a unit direction, in z's standard deviations
MAX_STRIP_STEPS = 256


@dataclass
class Directions:
    """Unit directions in z, strongest first."""

    vectors: torch.Tensor  # (K, latent_dim) float32, unit rows
    strengths: torch.Tensor  # (K,) float64: SeFa's eigenvalues, or the PCA components' variances
    method: str  # "sefa" or "pca"

    def pick(self, index: int, name: str = "direction") -> torch.Tensor:
        """Direction `index` (0 = strongest) as (latent_dim,), or ValueError naming `name` and the allowed range."""
        count = self.vectors.shape[0]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise ValueError(f"{name}={index!r} is invalid: allowed an integer from 0 to {count - 1} "
                             f"({count} {self.method} directions, 0 the strongest)")
        return self.vectors[index]


def _free_coordinates(generator: nn.Module, latent_dim: int) -> torch.Tensor:
    """The z coordinates a direction may move, (F,) int64: all, or all but z[:, 0] for a self-conditioned G."""
    start = 1 if latent_codes(generator).kind == "clusters" else 0
    if latent_dim - start < 1:
        raise ValueError(f"latent_dim={latent_dim} leaves no coordinate to move (a self-conditioned generator "
                         "keeps z[:, 0] for its cluster)")
    return torch.arange(start, latent_dim)


def _signed(vectors: torch.Tensor) -> torch.Tensor:
    """Rows with a fixed sign (the largest component positive), so the same generator gives the same directions."""
    index = vectors.abs().argmax(dim=1, keepdim=True)
    return vectors * torch.where(vectors.gather(1, index) < 0, -1.0, 1.0).to(vectors.dtype)


def first_layer_weight(generator: nn.Module, latent_dim: int) -> torch.Tensor:
    """The weight (out, latent_dim) float64 of G's first linear layer, restricted to its z inputs (a conditional
    MLP concatenates its class vector after z)."""
    for module in generator.modules():
        if isinstance(module, nn.Linear):
            weight = module.weight.detach().to("cpu", torch.float64)
            if weight.shape[1] < latent_dim:
                break
            return weight[:, :latent_dim]
    raise ValueError(f"this generator has no first linear layer taking z (latent_dim={latent_dim}): SeFa needs one")


def sefa_directions(generator: nn.Module, latent_dim: int) -> Directions:
    """SeFa: the eigenvectors of W^T W for G's first layer W (z part), by eigenvalue, largest first."""
    free = _free_coordinates(generator, latent_dim)
    weight = first_layer_weight(generator, latent_dim)[:, free]
    values, vectors = torch.linalg.eigh(weight.T @ weight)  # ascending
    order = torch.argsort(values, descending=True)
    full = torch.zeros(free.numel(), latent_dim, dtype=torch.float64)
    full[:, free] = vectors[:, order].T
    return Directions(_signed(full).float(), values[order].clamp(min=0), "sefa")


def _first_activations(generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """(B, F) outputs of G's first nonlinearity (ReLU or LeakyReLU) for z (B, latent_dim); G's output if none."""
    captured: list[torch.Tensor] = []
    layer = next((m for m in generator.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))), None)
    handle = layer.register_forward_hook(lambda _m, _i, output: captured.append(output.detach())) if layer else None
    try:
        images = generate(generator, z, batch_size=z.shape[0])
    finally:
        if handle is not None:
            handle.remove()
    return (captured[0] if captured else images).flatten(1).to("cpu", torch.float64)


def pca_directions(generator: nn.Module, latent_dim: int, samples: int = 2000, seed: int = 0) -> Directions:
    """GANSpace-style: PCA of G's first activations over `samples` seeded z, each component mapped back to the
    z direction that moves along it (least squares of z on the component coordinates), strongest first."""
    if not isinstance(samples, int) or not 10 <= samples <= 100_000:
        raise ValueError(f"samples={samples!r} is invalid: allowed an integer from 10 to 100000")
    free = _free_coordinates(generator, latent_dim)
    z = torch.randn(samples, latent_dim, generator=torch.Generator().manual_seed(seed))
    activations = _first_activations(generator, z)  # (N, F)
    centred = activations - activations.mean(dim=0)
    _, singular, components = torch.linalg.svd(centred, full_matrices=False)  # components: (r, F)
    count = min(free.numel(), components.shape[0])
    coordinates = centred @ components[:count].T  # (N, count)
    # z ~ coordinates @ U: row i of U is the move in z that goes with one unit along component i.
    mapping = torch.linalg.lstsq(coordinates, z.double()[:, free]).solution  # (count, F)
    full = torch.zeros(count, latent_dim, dtype=torch.float64)
    full[:, free] = mapping
    norms = full.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return Directions(_signed(full / norms).float(), singular[:count] ** 2 / max(1, samples - 1), "pca")


def directions(generator: nn.Module, latent_dim: int, method: str = "sefa", samples: int = 2000,
               seed: int = 0) -> Directions:
    """The generator's directions by `method` (sefa or pca); ValueError for another method."""
    if method not in DIRECTION_METHODS:
        raise ValueError(f"method={method!r} is invalid: allowed {' or '.join(DIRECTION_METHODS)}")
    return sefa_directions(generator, latent_dim) if method == "sefa" else \
        pca_directions(generator, latent_dim, samples, seed)


def move(z: torch.Tensor, vectors: torch.Tensor, amounts: torch.Tensor) -> torch.Tensor:
    """z (latent_dim,) moved by amounts (K,) along vectors (K, latent_dim): the explorer's sliders."""
    return z + amounts.to(z.dtype) @ vectors.to(z.dtype)


def direction_path(z: torch.Tensor, direction: torch.Tensor, extent: float = 3.0, steps: int = 9) -> torch.Tensor:
    """steps latents (steps, latent_dim) from z - extent * direction to z + extent * direction."""
    if not isinstance(steps, int) or not 2 <= steps <= MAX_STRIP_STEPS:
        raise ValueError(f"steps={steps!r} is invalid: allowed an integer from 2 to {MAX_STRIP_STEPS}")
    if not 0 < float(extent) <= MAX_EXTENT:
        raise ValueError(f"range={extent!r} is invalid: allowed a number above 0 and at most {MAX_EXTENT:g}")
    amounts = torch.linspace(-float(extent), float(extent), steps, dtype=z.dtype).unsqueeze(1)
    return z.unsqueeze(0) + amounts * direction.to(z.dtype).unsqueeze(0)


def direction_strip(generator: nn.Module, z: torch.Tensor, direction: torch.Tensor, extent: float = 3.0,
                    steps: int = 9, label: int | None = None) -> torch.Tensor:
    """Images (steps, C, H, W) along a direction through z; label: a conditional G's class for every image."""
    path = direction_path(z, direction, extent, steps)
    labels = None if label is None else torch.full((steps,), int(label), dtype=torch.int64)
    return generate(generator, path, labels=labels)
