"""Projection: the latent a generator maps closest to given images (or 2D points), as StyleGAN2's projector does
for a finished model, here for any generator of ours, a checkpoint's or a live run's copy.

The discrete part of the input cannot be reached by a gradient: a conditional G's class, or the self-conditioned
default's cluster (a step in z[:, 0]). So a seeded pool of candidates is drawn for every class or cluster, each
target keeps its best `restarts` starts from distinct classes or clusters, and Adam refines z from each; a
cluster's z[:, 0] is parametrised as Phi^-1(lo + sigmoid(u) * (hi - lo)) so it never leaves that cluster's slice.
The loss is the pixel MSE plus, where a feature function is given (the evaluator's classifier, differentiable),
the relative squared distance of features; both are reported. The feature function comes in as a parameter:
views sit below quality (pyproject.toml's layers), see gan_core/quality/latent_quality.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gan_core.views.codes import LatentCodes, generator_inputs, latent_codes, share_in_cluster, z0_in_cluster

MAX_PROJECT_IMAGES = 1000  # targets per call: each costs restarts x steps generator passes
MAX_STEPS = 5000
MAX_RESTARTS = 16
MAX_CANDIDATES = 100_000
PATH_POINTS = 9  # latents kept along each target's optimisation, for the page's path view
FeatureFunction = Callable[[torch.Tensor], torch.Tensor]  # (B, C, H, W) -> (B, F), differentiable


@dataclass
class Projection:
    """One latent per target and how close its image came."""

    latents: torch.Tensor  # (N, latent_dim) float32: the z found for each target
    labels: torch.Tensor | None  # (N,) int64: the class (conditional G) or cluster (self-conditioned G); else None
    label_kind: str  # "classes", "clusters" or "none": what labels are
    reconstructions: torch.Tensor  # (N, C, H, W) in [-1, 1], or (N, 2) points: generator(latents[, labels])
    pixel_distance: torch.Tensor  # (N,) float64 mean squared error per target (per coordinate for points)
    feature_distance: torch.Tensor | None  # (N,) float64 |f(x) - f(t)|^2 / |f(t)|^2, where features were used
    path: torch.Tensor  # (N, P, latent_dim): the winning start's z at path_steps (first: the start, last: final)
    path_steps: tuple[int, ...]

    def generator_inputs(self) -> tuple[torch.Tensor, ...]:
        """What to call the generator with to redraw the reconstructions: (z,) or (z, classes).

        A self-conditioned G reads its cluster off z[:, 0], so z alone redraws it."""
        return (self.latents,) if self.label_kind != "classes" else (self.latents, self.labels)


def output_shape(generator: nn.Module, latent_dim: int) -> tuple[int, ...]:
    """The shape of one generator output, (C, H, W) or (2,) for a point generator; ValueError if latent_dim
    does not fit the generator."""
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        with torch.inference_mode():
            return tuple(generator(torch.zeros(1, latent_dim, device=device)).shape[1:])
    except RuntimeError:
        raise ValueError(f"latent_dim={latent_dim} does not fit this generator") from None
    finally:
        generator.train(was_training)


def check_targets(targets: torch.Tensor, shape: tuple[int, ...], name: str = "images",
                  limit: int = MAX_PROJECT_IMAGES) -> torch.Tensor:
    """Targets as float32 (N, *shape) on the CPU, or ValueError naming `name` and what is allowed: the
    generator's shape and channels, 1 to `limit` targets, finite values, images in [-1, 1]."""
    if not isinstance(targets, torch.Tensor) or targets.is_complex() or targets.dtype == torch.bool:
        raise ValueError(f"{name} is invalid: allowed a tensor of real numbers")
    if targets.ndim == len(shape):  # one target without its batch axis
        targets = targets.unsqueeze(0)
    points = len(shape) == 1
    wanted = "N x 2 points" if points else "N x " + " x ".join(map(str, shape)) + " images"
    if targets.ndim != len(shape) + 1:
        raise ValueError(f"{name} has shape {tuple(targets.shape)}: allowed {wanted}")
    if not points and targets.shape[1] != shape[0]:
        raise ValueError(f"{name} has {targets.shape[1]} channels: allowed {shape[0]} (the generator's images "
                         f"are {' x '.join(map(str, shape))})")
    if tuple(targets.shape[1:]) != shape:
        raise ValueError(f"{name} has shape {tuple(targets.shape)}: allowed {wanted}")
    if not 1 <= targets.shape[0] <= limit:
        raise ValueError(f"{name} holds {targets.shape[0]} targets: allowed 1 to {limit} per projection")
    targets = targets.detach().to("cpu", torch.float32)
    bad = (~torch.isfinite(targets)).flatten(1).any(dim=1)
    if bool(bad.any()):
        raise ValueError(f"{name} holds NaN or infinite values in {int(bad.sum())} of {targets.shape[0]} targets "
                         f"(the first: index {int(bad.nonzero()[0])}): allowed finite numbers")
    if not points and (float(targets.min()) < -1.0001 or float(targets.max()) > 1.0001):
        raise ValueError(f"{name} holds values from {float(targets.min()):.3g} to {float(targets.max()):.3g}: "
                         "allowed images in [-1, 1] (as `sample` writes them)")
    return targets


def _check_option(name: str, value: object, low: float, high: float, kind: type = int) -> None:
    if not isinstance(value, kind) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is invalid: allowed {'an integer' if kind is int else 'a number'} "
                         f"from {low} to {high}")


def project(generator: nn.Module, targets: torch.Tensor, latent_dim: int, *, steps: int = 100, restarts: int = 4,
            candidates: int = 2048, seed: int = 0, feature_function: FeatureFunction | None = None,
            feature_weight: float = 0.1, learning_rate: float = 0.08, batch_size: int = 512,
            name: str = "images") -> Projection:
    """The latents whose images come closest to targets (N, C, H, W) in [-1, 1] (or points (N, 2)).

    Seeded and deterministic for a seed; the generator is only read (its mode is restored, no gradient is
    left on it), so a live run's copy may be passed. ValueError for bad targets (see check_targets) or options.
    """
    _check_option("steps", steps, 0, MAX_STEPS)
    _check_option("restarts", restarts, 1, MAX_RESTARTS)
    _check_option("candidates", candidates, 1, MAX_CANDIDATES)
    _check_option("seed", seed, 0, 2**63 - 1)
    _check_option("feature_weight", float(feature_weight), 0.0, 1e6, float)
    _check_option("learning_rate", float(learning_rate), 1e-6, 10.0, float)
    shape = output_shape(generator, latent_dim)
    targets = check_targets(targets, shape, name)
    features = feature_function if feature_function is not None and len(shape) == 3 else None
    codes = latent_codes(generator)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        objective = _Objective(generator, codes, features, feature_weight, device)
        rng = torch.Generator().manual_seed(seed)
        pool_z, pool_labels = _candidate_pool(codes, latent_dim, candidates, rng)
        starts, start_labels = _pick_starts(objective, targets, pool_z, pool_labels, codes, restarts, batch_size)
        per_chunk = max(1, batch_size // starts.shape[1])
        with torch.inference_mode(False), torch.enable_grad():  # a caller's no_grad or inference mode: z needs grads
            pieces = [_refine(objective, targets[i: i + per_chunk], starts[i: i + per_chunk],
                              None if start_labels is None else start_labels[i: i + per_chunk], steps, learning_rate)
                      for i in range(0, targets.shape[0], per_chunk)]
    finally:
        generator.train(was_training)
    latents = torch.cat([piece[0] for piece in pieces])
    labels = None if start_labels is None else torch.cat([piece[1] for piece in pieces])
    path = torch.cat([piece[2] for piece in pieces])
    with torch.no_grad():
        images = _generate(generator, generator_inputs(codes, latents, labels if codes.kind == "classes" else None),
                           batch_size)
        pixel, feature = objective.distances(images, targets, objective.target_features(targets, batch_size))
    return Projection(latents, labels, codes.kind, images, pixel.double(),
                      None if feature is None else feature.double(), path, _path_steps(steps))


def _generate(generator: nn.Module, inputs: tuple[torch.Tensor, ...], batch_size: int) -> torch.Tensor:
    """generator(*inputs) in batches, on the CPU, without autograd; images clamped to [-1, 1] as generate() does."""
    device = next(generator.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, inputs[0].shape[0], batch_size):
            out.append(generator(*(x[start: start + batch_size].to(device) for x in inputs)).float().cpu())
    images = torch.cat(out)
    return images.clamp(-1.0, 1.0) if images.ndim == 4 else images


class _Objective:
    """Per-target distances: pixel MSE and the relative feature distance; loss = pixel + weight * feature."""

    def __init__(self, generator: nn.Module, codes: LatentCodes, features: FeatureFunction | None,
                 feature_weight: float, device: torch.device) -> None:
        self.generator, self.codes, self.features = generator, codes, features
        self.feature_weight, self.device = float(feature_weight), device

    def target_features(self, targets: torch.Tensor, batch_size: int) -> torch.Tensor | None:
        if self.features is None:
            return None
        with torch.no_grad():
            return torch.cat([self.features(targets[i: i + batch_size].to(self.device)).float()
                              for i in range(0, targets.shape[0], batch_size)]).cpu()

    def distances(self, images: torch.Tensor, targets: torch.Tensor,
                  target_features: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B,) pixel MSE and (B,) relative feature distance (None without features); images and targets paired."""
        targets = targets.to(images.device)
        pixel = (images - targets).pow(2).flatten(1).mean(dim=1)
        if target_features is None:
            return pixel, None
        found = self.features(images).float()  # on the feature function's device (the evaluator's: the CPU)
        wanted = target_features.to(found.device)
        feature = (found - wanted).pow(2).sum(dim=1) / wanted.pow(2).sum(dim=1).clamp(min=1e-8)
        return pixel, feature.to(pixel.device)

    def loss(self, pixel: torch.Tensor, feature: torch.Tensor | None) -> torch.Tensor:
        return pixel if feature is None else pixel + self.feature_weight * feature


def _candidate_pool(codes: LatentCodes, latent_dim: int, count: int,
                    rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Seeded candidates (M, latent_dim), code-major: an equal number per usable class or cluster, with its
    labels (M,); a self-conditioned candidate's z0 is drawn uniformly inside its cluster's slice."""
    usable = codes.usable()
    if not usable:
        return torch.randn(count, latent_dim, generator=rng), None
    per_code = max(1, count // len(usable))
    labels = torch.tensor(usable, dtype=torch.int64).repeat_interleave(per_code)
    z = torch.randn(labels.numel(), latent_dim, generator=rng)
    if codes.kind == "clusters":
        z[:, 0] = z0_in_cluster(codes, labels, torch.rand(labels.numel(), generator=rng))
    return z, labels


def _pairwise(targets: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """Squared distances (N, M) between rows, |t|^2 - 2 t.p + |p|^2, never below 0."""
    return ((targets * targets).sum(1, keepdim=True) - 2.0 * targets @ pool.T
            + (pool * pool).sum(1).unsqueeze(0)).clamp(min=0)


def _pick_starts(objective: _Objective, targets: torch.Tensor, pool_z: torch.Tensor, pool_labels: torch.Tensor | None,
                 codes: LatentCodes, restarts: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Each target's best `restarts` candidates by loss, from distinct classes or clusters where G has them:
    starts (N, R, latent_dim) and their labels (N, R) or None."""
    inputs = generator_inputs(codes, pool_z, pool_labels)
    images = _generate(objective.generator, inputs, batch_size)
    flat_targets, flat_images = targets.flatten(1).double(), images.flatten(1).double()
    scores = _pairwise(flat_targets, flat_images) / flat_images.shape[1]  # (N, M) pixel MSE
    if objective.features is not None:
        wanted = objective.target_features(targets, batch_size).double()
        found = objective.target_features(images, batch_size).double()
        scores = scores + objective.feature_weight * _pairwise(wanted, found) / \
            wanted.pow(2).sum(1, keepdim=True).clamp(min=1e-8)
    if pool_labels is None:
        best = scores.topk(min(restarts, scores.shape[1]), dim=1, largest=False).indices  # (N, R)
        return pool_z[best], None
    per_code = pool_labels.numel() // len(codes.usable())
    by_code = scores.view(scores.shape[0], -1, per_code)  # (N, K', per_code): the pool is code-major
    code_best, within = by_code.min(dim=2)  # (N, K')
    chosen = code_best.topk(min(restarts, code_best.shape[1]), dim=1, largest=False).indices  # (N, R)
    index = chosen * per_code + within.gather(1, chosen)
    return pool_z[index], pool_labels[index]


def _path_steps(steps: int) -> tuple[int, ...]:
    """The steps at which a target's latent is kept: 0, ..., steps (at most PATH_POINTS of them)."""
    return tuple(sorted({round(i * steps / (PATH_POINTS - 1)) for i in range(PATH_POINTS)}))


class _Latents:
    """The trainable form of a batch of latents: z itself, or for clusters z[:, 1:] and u, with
    z0 = Phi^-1(lo + sigmoid(u) * (hi - lo)) inside each latent's cluster slice."""

    def __init__(self, codes: LatentCodes, start: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.codes, self.labels = codes, labels
        self.clustered = codes.kind == "clusters"
        if self.clustered:
            share = share_in_cluster(codes, labels, start[:, 0]).double().clamp(1e-4, 1 - 1e-4)
            self.logit = torch.log(share / (1 - share)).float().requires_grad_(True)
            self.rest = start[:, 1:].clone().requires_grad_(True)
            self.lower, self.upper = codes.lower[labels], codes.upper[labels]
            self.parameters = [self.logit, self.rest]
        else:
            self.z = start.clone().requires_grad_(True)
            self.parameters = [self.z]

    def keep(self, rows: torch.Tensor, optimizer: torch.optim.Adam) -> torch.optim.Adam:
        """Keep only these rows (indices into the current batch); returns an Adam over the kept rows that
        carries their moments on."""
        fresh = [parameter.detach()[rows].clone().requires_grad_(True) for parameter in self.parameters]
        following = torch.optim.Adam(fresh, lr=optimizer.param_groups[0]["lr"])
        for old, new in zip(self.parameters, fresh):
            state = optimizer.state.get(old)
            if state:
                following.state[new] = {key: value if key == "step" else value[rows].clone()
                                        for key, value in state.items()}
        if self.clustered:
            self.logit, self.rest = fresh
            self.lower, self.upper = self.lower[rows], self.upper[rows]
        else:
            (self.z,) = fresh
        self.parameters = fresh
        return following

    def value(self) -> torch.Tensor:
        """z (B, latent_dim), differentiable in the parameters."""
        if not self.clustered:
            return self.z
        # float64: erfinv near +-1 loses the slice's precision in float32.
        uniform = self.lower + torch.sigmoid(self.logit.double()) * (self.upper - self.lower)
        z0 = (math.sqrt(2.0) * torch.erfinv(2.0 * uniform - 1.0)).float()
        return torch.cat([z0.unsqueeze(1), self.rest], dim=1)


def _refine(objective: _Objective, targets: torch.Tensor, starts: torch.Tensor, labels: torch.Tensor | None,
            steps: int, learning_rate: float) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Adam on every start of a chunk of targets at once; each target's best latent seen, its label and path.

    A quarter of the way in, each target keeps its better half of starts (successive halving): the rest rarely
    catch up, and dropping them saves about a third of the passes."""
    count, restarts, latent_dim = starts.shape
    flat_labels = None if labels is None else labels.reshape(-1)
    alive = torch.arange(count * restarts)  # rows of the (count * restarts) starts still optimised
    latents = _Latents(objective.codes, starts.reshape(-1, latent_dim), flat_labels)
    repeated = targets.repeat_interleave(restarts, dim=0).to(objective.device)
    wanted = objective.target_features(targets, count)
    wanted = None if wanted is None else wanted.repeat_interleave(restarts, dim=0)
    optimizer = torch.optim.Adam(latents.parameters, lr=learning_rate)
    best_loss = torch.full((count * restarts,), math.inf)
    best_z = starts.reshape(-1, latent_dim).clone()
    record, prune_at = set(_path_steps(steps)), steps // 4 if restarts > 1 and steps >= 8 else -1
    path = []
    for step in range(steps + 1):  # the last pass only scores the final latents
        if step == prune_at:
            kept = best_loss.view(count, restarts).topk((restarts + 1) // 2, dim=1, largest=False).indices
            rows = (torch.arange(count).unsqueeze(1) * restarts + kept).reshape(-1).sort().values
            optimizer = latents.keep(torch.searchsorted(alive, rows), optimizer)
            alive = rows
        z = latents.value()
        if step in record:  # rows dropped by the halving stay NaN; a winner is never one of them
            snapshot = torch.full((count * restarts, latent_dim), math.nan)
            snapshot[alive] = z.detach().cpu()
            path.append(snapshot)
        device_z = z.to(objective.device)
        inputs = (device_z,) if flat_labels is None else (device_z, flat_labels[alive].to(objective.device))
        images = objective.generator(*inputs)
        pixel, feature = objective.distances(images, repeated[alive.to(repeated.device)],
                                             None if wanted is None else wanted[alive])
        loss = objective.loss(pixel, feature)
        per_latent = loss.detach().cpu()
        better = per_latent < best_loss[alive]
        best_loss[alive[better]] = per_latent[better]
        best_z[alive[better]] = z.detach().cpu()[better]
        if step == steps:
            break
        for group in optimizer.param_groups:  # cosine decay: large moves first, settling at the end
            group["lr"] = learning_rate * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        gradients = torch.autograd.grad(loss.sum(), latents.parameters)  # only z's: G's weights stay untouched
        for parameter, gradient in zip(latents.parameters, gradients):
            parameter.grad = gradient
        optimizer.step()
    winner = best_loss.view(count, restarts).argmin(dim=1)  # (count,)
    rows = torch.arange(count) * restarts + winner
    path_tensor = torch.stack(path, dim=1)[rows]  # (count, P, latent_dim)
    return best_z[rows], None if flat_labels is None else flat_labels[rows], path_tensor
