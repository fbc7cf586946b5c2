"""Generators and discriminators: the seed post's MLP pair and a DCGAN pair. No IO, no globals."""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_core.config import ModelConfig
from gan_core.point_models import POINT_DIM, PointDiscriminator, PointGenerator


class MLPGenerator(nn.Module):
    """The seed's generator: z -> [Linear, ReLU] x depth -> Linear -> Tanh, reshaped to an image."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], hidden_dim: int = 256,
                 depth: int = 2) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = []
        width_in = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden_dim), nn.ReLU()]
            width_in = hidden_dim
        layers += [nn.Linear(width_in, math.prod(image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [-1, 1]."""
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """The seed's discriminator without its final Sigmoid: image -> [Linear, LeakyReLU(0.2)] x depth -> logit."""

    def __init__(self, image_shape: tuple[int, int, int], hidden_dim: int = 256, depth: int = 2,
                 norm: str = "none") -> None:
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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B,) logits; sigmoid(logit) is D's probability that the image is real."""
        return self.net(images).view(-1)


def dcgan_start_size(image_size: int) -> int:
    """Side of the smallest feature map: image_size halved until it is 7 or less, or ValueError."""
    size = image_size
    while size % 2 == 0 and size > 7:
        size //= 2
    if size not in (4, 7) or size == image_size:
        raise ValueError(f"data.image_size={image_size} is invalid for dcgan: allowed 4 or 7 times "
                         "a power of two, at least 8 (e.g. 8, 14, 16, 28, 32, 56, 64, 128)")
    return size


class DCGANGenerator(nn.Module):
    """z -> Linear to (base * 2^k, s, s) -> k x [ConvTranspose stride 2, BN, ReLU] -> image (Tanh)."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], base_channels: int = 32) -> None:
        super().__init__()
        channels, size, _ = image_shape
        start = dcgan_start_size(size)
        upsamplings = int(round(math.log2(size // start)))
        width = base_channels * 2 ** (upsamplings - 1)
        self.start_shape = (width, start, start)
        # A linear projection (not a 1x1 transposed conv) lets 7x7 and 4x4 starts share code.
        self.project = nn.Sequential(nn.Linear(latent_dim, width * start * start, bias=False),
                                     nn.BatchNorm1d(width * start * start), nn.ReLU())
        layers: list[nn.Module] = []
        for index in range(upsamplings):
            last = index == upsamplings - 1
            out = channels if last else width // 2
            layers.append(nn.ConvTranspose2d(width, out, kernel_size=4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
            width = out
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, H, W) in [-1, 1]."""
        return self.net(self.project(z).view(z.shape[0], *self.start_shape))


class DCGANDiscriminator(nn.Module):
    """image -> k x [Conv stride 2, (norm), LeakyReLU(0.2)] -> Linear -> logit."""

    def __init__(self, image_shape: tuple[int, int, int], base_channels: int = 32, norm: str = "batch") -> None:
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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B,) logits."""
        return self.net(images).view(-1)


def _spectral(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


def build_models(config: ModelConfig, image_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) for the configured architecture and an image shape (C, H, W), or the
    point MLPs for a 2D point set's shape (2,)."""
    if tuple(image_shape) == (POINT_DIM,):
        return PointGenerator(config.latent_dim, config.hidden_dim, config.depth), \
            PointDiscriminator(config.hidden_dim, config.depth)
    channels, height, width = image_shape
    if height != width:
        raise ValueError(f"images must be square, got {height}x{width}")
    if config.architecture == "mlp":
        generator = MLPGenerator(config.latent_dim, image_shape, config.hidden_dim, config.depth)
        discriminator = MLPDiscriminator(image_shape, config.hidden_dim, config.depth,
                                         config.discriminator_norm)
    else:
        generator = DCGANGenerator(config.latent_dim, image_shape, config.base_channels)
        discriminator = DCGANDiscriminator(image_shape, config.base_channels, config.discriminator_norm)
    _init_weights(generator)
    _init_weights(discriminator)
    return generator, discriminator


def _init_weights(model: nn.Module) -> None:
    """DCGAN's N(0, 0.02) init for conv layers and N(1, 0.02) for BatchNorm scales; MLPs keep PyTorch's."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = getattr(module, "parametrizations", None)
            target = weight.weight.original if weight is not None else module.weight
            nn.init.normal_(target, 0.0, 0.02)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)


def has_batch_norm(model: nn.Module) -> bool:
    """True when the model holds any BatchNorm layer (its output then depends on the batch)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
