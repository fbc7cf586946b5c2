"""Generators and discriminators: the seed post's MLP pair and a DCGAN pair. No IO, no globals."""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_core.config.schema import ModelConfig
from gan_core.nets.clusters import clusters_from_noise
from gan_core.nets.point_models import POINT_DIM, PointDiscriminator, PointGenerator

MAX_CLASSES = 1000  # a conditional model's class count: embeddings stay small, grids K x K stay drawable


class MLPGenerator(nn.Module):
    """The seed's generator: z -> [Linear, ReLU] x depth -> Linear -> Tanh, reshaped to an image."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], hidden_dim: int = 256,
                 depth: int = 2, num_classes: int = 0) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        # Conditional: a learned class vector (latent_dim wide) is concatenated to z.
        self.embed = nn.Embedding(num_classes, latent_dim) if num_classes else None
        layers: list[nn.Module] = []
        width_in = latent_dim * (2 if num_classes else 1)
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden_dim), nn.ReLU()]
            width_in = hidden_dim
        layers += [nn.Linear(width_in, math.prod(image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent_dim) [, labels (B,)] -> (B, C, H, W) in [-1, 1]."""
        return self.net(_with_class(self.embed, z, labels)).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """The seed's discriminator without its final Sigmoid: image -> [Linear, LeakyReLU(0.2)] x depth -> logit."""

    def __init__(self, image_shape: tuple[int, int, int], hidden_dim: int = 256, depth: int = 2,
                 norm: str = "none", num_classes: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width_in = math.prod(image_shape)
        for _ in range(depth):
            linear = nn.Linear(width_in, hidden_dim)
            layers.append(_spectral(linear) if norm == "spectral" else linear)
            if norm == "batch":
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.LeakyReLU(0.2))
            width_in = hidden_dim
        final = nn.Linear(width_in, 1)
        layers.append(_spectral(final) if norm == "spectral" else final)
        self.net = nn.Sequential(*layers)
        self.num_classes = num_classes
        self.embed = _projection(num_classes, width_in, norm)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) [, labels (B,)] -> (B,) logits; sigmoid(logit) is D's probability that the image is real."""
        return _project(self.net, self.embed, images, labels)


def dcgan_start_size(image_size: int) -> int:
    """Side of the smallest feature map: image_size halved until it is 7 or less, or ValueError."""
    size = image_size
    while size % 2 == 0 and size > 7:
        size //= 2
    if size not in (4, 7) or size == image_size:
        raise ValueError(f"data.image_size={image_size} is invalid for dcgan: allowed 4 or 7 times "
                         "a power of two, at least 8 (e.g. 8, 14, 16, 28, 32, 56, 64, 128)")
    return size


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are looked up by class (SN-GAN, BigGAN): (B, C[, H, W]), labels (B,)."""

    def __init__(self, features: int, num_classes: int, dims: int) -> None:
        super().__init__()
        self.norm = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(features, affine=False)
        self.scale = nn.Embedding(num_classes, features)
        self.shift = nn.Embedding(num_classes, features)
        nn.init.normal_(self.scale.weight, 1.0, 0.02)  # DCGAN's BatchNorm start, one row per class
        nn.init.zeros_(self.shift.weight)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shape = (features.shape[0], -1) + (1,) * (features.dim() - 2)  # (B, C, 1, 1) for maps
        scale, shift = class_vectors(self.scale, labels), class_vectors(self.shift, labels)
        return self.norm(features) * scale.view(shape) + shift.view(shape)


class DCGANGenerator(nn.Module):
    """z -> Linear to (base * 2^k, s, s) -> k x [ConvTranspose stride 2, BN, ReLU] -> image (Tanh).

    Conditional: every BatchNorm takes its scale and shift from the class instead of the class vector
    being concatenated to z. With the class only at the input, G learned one image per class and
    ignored z (recall 0 after 120 s, docs/benchmarks.md); modulating every layer leaves z the style.
    """

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], base_channels: int = 32,
                 num_classes: int = 0) -> None:
        super().__init__()
        channels, size, _ = image_shape
        self.num_classes = num_classes
        start = dcgan_start_size(size)
        upsamplings = int(round(math.log2(size // start)))
        width = base_channels * 2 ** (upsamplings - 1)
        self.start_shape = (width, start, start)

        def norm(features: int, dims: int) -> nn.Module:
            if num_classes:
                return ConditionalBatchNorm(features, num_classes, dims)
            return nn.BatchNorm1d(features) if dims == 1 else nn.BatchNorm2d(features)

        # A linear projection (not a 1x1 transposed conv) lets 7x7 and 4x4 starts share code.
        self.project = nn.Sequential(nn.Linear(latent_dim, width * start * start, bias=False),
                                     norm(width * start * start, 1), nn.ReLU())
        layers: list[nn.Module] = []
        for index in range(upsamplings):
            last = index == upsamplings - 1
            out = channels if last else width // 2
            layers.append(nn.ConvTranspose2d(width, out, kernel_size=4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [norm(out, 2), nn.ReLU()]
            width = out
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent_dim) [, labels (B,)] -> (B, C, H, W) in [-1, 1]."""
        if self.num_classes and labels is None:
            labels = default_labels(z.shape[0], self.num_classes, z.device)
        features = _through(self.project, z, labels).view(z.shape[0], *self.start_shape)
        return _through(self.net, features, labels)


class SelfConditionedGenerator(nn.Module):
    """A generator conditioned on k-means clusters (model.clusters) that still maps z alone to an image.

    The cluster is read off z's first coordinate (clusters.clusters_from_noise), so seeds, grids, the
    explorer and evaluation treat it as unconditional, and z ~ N(0, I) lands in each cluster at that
    cluster's share of the data. A walk in z crosses from one cluster to the next in one step.
    """

    def __init__(self, inner: nn.Module, clusters: int) -> None:
        super().__init__()
        self.inner = inner  # a conditional MLP or DCGAN generator with `clusters` classes
        self.clusters = clusters
        self.num_classes = 0  # to callers it is unconditional: z in, image out
        # Cumulative cluster shares (K,); uniform until the trainer sets the data's (saved with the weights).
        self.register_buffer("cluster_edges", torch.arange(1, clusters + 1, dtype=torch.float32) / clusters)

    def set_cluster_shares(self, shares: torch.Tensor) -> None:
        """Store the data's cluster shares (K,) as cumulative edges."""
        edges = torch.cumsum(shares.float(), dim=0) / shares.float().sum()
        self.cluster_edges.copy_(edges.to(self.cluster_edges.device))

    def clusters_for(self, z: torch.Tensor) -> torch.Tensor:
        """The cluster each z (B, latent_dim) stands for, (B,) int64."""
        return clusters_from_noise(z, self.cluster_edges)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W); labels (B,) override the clusters read off z (the trainer's own)."""
        return self.inner(z, self.clusters_for(z) if labels is None else labels)


class DCGANDiscriminator(nn.Module):
    """image -> k x [Conv stride 2, (norm), LeakyReLU(0.2)] -> Linear -> logit."""

    def __init__(self, image_shape: tuple[int, int, int], base_channels: int = 32, norm: str = "batch",
                 num_classes: int = 0) -> None:
        super().__init__()
        channels, size, _ = image_shape
        start = dcgan_start_size(size)
        downsamplings = int(round(math.log2(size // start)))
        layers: list[nn.Module] = []
        width_in, width = channels, base_channels
        for index in range(downsamplings):
            conv = nn.Conv2d(width_in, width, kernel_size=4, stride=2, padding=1, bias=norm != "batch")
            layers.append(_spectral(conv) if norm == "spectral" else conv)
            # As in DCGAN, no BatchNorm on the first layer, which sees raw images.
            if norm == "batch" and index > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2))
            width_in, width = width, width * 2
        final = nn.Linear(width_in * start * start, 1)
        layers += [nn.Flatten(), _spectral(final) if norm == "spectral" else final]
        self.net = nn.Sequential(*layers)
        self.num_classes = num_classes
        self.embed = _projection(num_classes, width_in * start * start, norm)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) [, labels (B,)] -> (B,) logits."""
        return _project(self.net, self.embed, images, labels)


def _spectral(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


def default_labels(count: int, num_classes: int, device: torch.device) -> torch.Tensor:
    """The classes in turn, 0, 1, ..., K-1, 0, ...: (count,) int64, for a conditional G called without labels."""
    return torch.arange(count, device=device) % num_classes


def class_vectors(embedding: nn.Embedding, labels: torch.Tensor) -> torch.Tensor:
    """An embedding's rows for integer labels (B,), or for class weights (B, K) their mix (a class morph).

    Integer labels take the lookup they always took, so their outputs stay bit-identical."""
    if labels.is_floating_point():
        return labels.to(embedding.weight.dtype) @ embedding.weight
    return embedding(labels)


def _through(layers: nn.Sequential, inputs: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Run a Sequential, handing the labels to its conditional BatchNorms."""
    for layer in layers:
        inputs = layer(inputs, labels) if isinstance(layer, ConditionalBatchNorm) else layer(inputs)
    return inputs


def _with_class(embed: nn.Embedding | None, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """z (B, latent_dim), or for a conditional G [z, embed(labels)] (B, 2 * latent_dim).

    Labels left out cycle through the classes, so callers that know nothing of classes (generate(G, z),
    the explorer) still get images, of every class in turn.
    """
    if embed is None:
        return z
    if labels is None:
        labels = default_labels(z.shape[0], embed.num_embeddings, z.device)
    return torch.cat([z, class_vectors(embed, labels).to(z.dtype)], dim=1)


def _projection(num_classes: int, feature_dim: int, norm: str) -> nn.Module | None:
    """The projection discriminator's class embedding, (num_classes, feature_dim); spectral-normed with D."""
    if not num_classes:
        return None
    embed = nn.Embedding(num_classes, feature_dim)
    # Small start: the projection term begins near zero, so D starts as its unconditional self.
    nn.init.normal_(embed.weight, 0.0, 0.02)
    return _spectral(embed) if norm == "spectral" else embed


def _project(net: nn.Sequential, embed: nn.Module | None, images: torch.Tensor,
             labels: torch.Tensor | None) -> torch.Tensor:
    """D's logits (B,): psi(phi(x)) plus, for a projection D (Miyato & Koyama 2018), <embed(y), phi(x)>."""
    if embed is None:
        return net(images).view(-1)
    if labels is None:
        raise ValueError("this discriminator is class-conditional (model.conditional): pass labels")
    features = net[:-1](images)  # phi(x): (B, F), everything but the final linear psi
    return net[-1](features).view(-1) + (embed(labels) * features).sum(dim=1)


def build_models(config: ModelConfig, image_shape: tuple[int, ...],
                 num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for the configured architecture and an image shape (C, H, W), or the
    point MLPs for a 2D point set's shape (2,). model.conditional needs num_classes >= 2 (G then takes
    (z, labels), D (images, labels)); unconditional models ignore num_classes. model.clusters = K > 0: D
    takes (images, cluster labels), G is a SelfConditionedGenerator (z alone, or z and labels)."""
    classes = num_classes if config.conditional else config.clusters
    if config.conditional and not (isinstance(num_classes, int) and 2 <= num_classes <= MAX_CLASSES):
        raise ValueError(f"model.conditional=True is invalid with {num_classes!r} classes: allowed a labelled "
                         f"data set of 2 to {MAX_CLASSES} classes")
    if tuple(image_shape) == (POINT_DIM,):
        return PointGenerator(config.latent_dim, config.hidden_dim, config.depth), \
            PointDiscriminator(config.hidden_dim, config.depth)
    channels, height, width = image_shape
    if height != width:
        raise ValueError(f"images must be square, got {height}x{width}")
    if config.architecture == "mlp":
        generator = MLPGenerator(config.latent_dim, image_shape, config.hidden_dim, config.depth, classes)
        discriminator = MLPDiscriminator(image_shape, config.hidden_dim, config.depth,
                                         config.discriminator_norm, classes)
    else:
        generator = DCGANGenerator(config.latent_dim, image_shape, config.base_channels, classes)
        discriminator = DCGANDiscriminator(image_shape, config.base_channels, config.discriminator_norm, classes)
    _init_weights(generator)
    _init_weights(discriminator)
    if config.clusters:
        generator = SelfConditionedGenerator(generator, config.clusters)
    return generator, discriminator


def _init_weights(model: nn.Module) -> None:
    """DCGAN's N(0, 0.02) init for conv layers and N(1, 0.02) for BatchNorm scales; MLPs keep PyTorch's."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = getattr(module, "parametrizations", None)
            target = weight.weight.original if weight is not None else module.weight
            nn.init.normal_(target, 0.0, 0.02)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)


def has_batch_norm(model: nn.Module) -> bool:
    """True when the model holds any BatchNorm layer (its output then depends on the batch)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
