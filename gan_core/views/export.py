"""Export a generator for use without this project: TorchScript (always) or ONNX (when the optional onnx and
onnxscript packages are installed). The exported model maps z (B, latent_dim) [and a conditional G's classes
(B,) int64] to what `sample` writes: images (B, C, H, W) clamped to [-1, 1], or a 2D run's points (B, 2)."""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from gan_core.files import write_atomic
from gan_core.views.codes import latent_codes

EXPORT_FORMATS = ("torchscript", "onnx")
ONNX_PACKAGES = ("onnx", "onnxscript")  # torch.onnx.export(dynamo=True), torch's default exporter, needs both


class _Sampling(nn.Module):
    """z -> generator(z), clamped to [-1, 1] for images as generate() does."""

    def __init__(self, generator: nn.Module, clamp: bool) -> None:
        super().__init__()
        self.generator, self.clamp = generator, clamp

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.generator(z)
        return out.clamp(-1.0, 1.0) if self.clamp else out


class _ConditionalSampling(_Sampling):
    """(z, classes) -> generator(z, classes), clamped to [-1, 1]."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.generator(z, labels).clamp(-1.0, 1.0)


def _example(generator: nn.Module, latent_dim: int) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """A CPU eval-mode copy of the generator wrapped for export, and example inputs (batch 2)."""
    model = copy.deepcopy(generator).to("cpu").eval()  # never the caller's (possibly live) module
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    z = torch.randn(2, latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        points = model(z).ndim == 2
    if latent_codes(model).kind == "classes":
        return _ConditionalSampling(model, True), (z, torch.zeros(2, dtype=torch.int64))
    return _Sampling(model, not points), (z,)


def torchscript_bytes(generator: nn.Module, latent_dim: int) -> bytes:
    """The generator traced to TorchScript, as the bytes of a file torch.jit.load reads."""
    wrapper, example = _example(generator, latent_dim)
    with warnings.catch_warnings():
        # torch 2.14 marks torch.jit.trace and save deprecated (FutureWarning); TorchScript still loads anywhere.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(wrapper, example, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return buffer.getvalue()


def missing_onnx_packages() -> list[str]:
    """The optional packages ONNX export needs that are not installed."""
    return [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]


def onnx_bytes(generator: nn.Module, latent_dim: int) -> bytes:
    """The generator as an ONNX model with a free batch size; ValueError naming `pip install ...` when the
    optional packages are missing."""
    missing = missing_onnx_packages()
    if missing:
        raise ValueError(f"--format onnx needs the optional package{'s' if len(missing) > 1 else ''} "
                         f"{' and '.join(missing)}: pip install {' '.join(missing)} (or use --format torchscript)")
    wrapper, example = _example(generator, latent_dim)
    batch = torch.export.Dim("batch")
    names = ["z", "labels"][: len(example)]
    program = torch.onnx.export(wrapper, example, dynamo=True, input_names=names, output_names=["images"],
                                dynamic_shapes={name: {0: batch} for name in names})
    return program.model_proto.SerializeToString()


def export_generator(generator: nn.Module, latent_dim: int, file_format: str, path: str | os.PathLike) -> Path:
    """Write the generator to path in file_format (torchscript or onnx), atomically (a link is replaced)."""
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"--format={file_format!r} is invalid: allowed {' or '.join(EXPORT_FORMATS)}")
    data = torchscript_bytes(generator, latent_dim) if file_format == "torchscript" else \
        onnx_bytes(generator, latent_dim)
    return write_atomic(path, data)
