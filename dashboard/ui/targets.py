"""What the latent explorer projects, vetted: uploaded images or a .npy of images, a digit drawn on the page's
canvas, indices into the training set. Each input is untrusted: sizes are checked from headers before anything is
decoded or allocated, and every refusal is a ValueError of one line naming the input and what is allowed (the page
shows it beside the widget). Pure: numpy, torch and PIL, no Streamlit."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import torch

from gan_core.views.projection import check_targets

MAX_PAGE_TARGETS = 8  # images per projection in the page: each costs about a second
MAX_IMAGE_BYTES = 4 << 20  # one uploaded image file
MAX_NPY_BYTES = 16 << 20  # an uploaded .npy of images
IMAGE_SUFFIXES = ("png", "jpg", "jpeg", "bmp", "gif", "webp")
DRAWN_INK_SHARE = 20 / 28  # a drawing is scaled so its longer side takes this share, as MNIST's digits do


def _size_check(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise ValueError(f"{name} is {size / 2**20:.1f} MB: allowed at most {limit >> 20} MB")


def image_target(name: str, data: bytes, shape: tuple[int, int, int]) -> torch.Tensor:
    """One uploaded image file as a target (1, C, H, W) in [-1, 1] for a generator of images `shape` (C, H, W).

    Its size must be the generator's (read from the header, before decoding); grayscale feeds an RGB generator
    as three equal channels, and an RGB image whose channels are equal feeds a grayscale one."""
    from PIL import Image, UnidentifiedImageError

    _size_check(name, len(data), MAX_IMAGE_BYTES)
    channels, height, width = shape
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.size != (width, height):  # the header's size: nothing is decoded yet
                raise ValueError(f"{name} is {image.width}x{image.height} pixels: allowed {width}x{height} (the "
                                 "generator's size); resize it first")
            gray = image.mode in ("1", "L", "LA", "I", "I;16", "F")
            pixels = np.asarray(image.convert("L" if gray else "RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"{name} is not an image that can be read ({type(error).__name__}): allowed PNG, JPEG, "
                         "BMP, GIF or WebP") from None
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], channels, axis=2)
    elif channels == 1:
        if not (np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2])):
            raise ValueError(f"{name} has 3 colour channels: allowed 1 (grayscale, as the generator draws)")
        pixels = pixels[..., :1]
    target = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))).unsqueeze(0) / 127.5 - 1.0
    return check_targets(target, shape, name, MAX_PAGE_TARGETS)


def npy_targets(name: str, data: bytes, shape: tuple[int, int, int]) -> torch.Tensor:
    """A .npy of N x C x H x W images in [-1, 1] (as `sample` writes them), its header vetted before the data is
    read (never unpickled): float32 (N, C, H, W) with 1 <= N <= MAX_PAGE_TARGETS, finite, the generator's shape."""
    import numpy.lib.format as npy_format

    _size_check(name, len(data), MAX_NPY_BYTES)
    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        reader = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}.get(version)
        if reader is None:
            raise ValueError(f"format version {version}")
        declared, fortran_order, dtype = reader(stream)
    except (ValueError, SyntaxError, EOFError) as error:
        first = (str(error).splitlines() or [type(error).__name__])[0][:120]
        raise ValueError(f"{name} is not a .npy file that can be read safely ({first}): allowed an array saved by "
                         "numpy.save") from None
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "fiu":
        raise ValueError(f"{name} holds {dtype} values: allowed numbers (N x C x H x W images in [-1, 1])")
    wanted = "N x " + " x ".join(map(str, shape))
    if len(declared) != 4 or tuple(declared[1:]) != tuple(shape):
        raise ValueError(f"{name} holds an array of shape {tuple(declared)}: allowed {wanted} images (the "
                         "generator's)")
    if not 1 <= declared[0] <= MAX_PAGE_TARGETS:
        raise ValueError(f"{name} holds {declared[0]} images: allowed 1 to {MAX_PAGE_TARGETS} per projection here "
                         "(the command line's `project` takes more)")
    count = math.prod(declared)
    if len(data) - stream.tell() != count * dtype.itemsize:
        raise ValueError(f"{name} declares {' x '.join(map(str, declared))} values but holds "
                         f"{len(data) - stream.tell():,} bytes of data: truncated or not written by numpy.save")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    array = array.reshape(declared, order="F" if fortran_order else "C").astype(np.float32)
    return check_targets(torch.from_numpy(array), shape, name, MAX_PAGE_TARGETS)


def uploaded_targets(files: list[tuple[str, bytes]], shape: tuple[int, int, int]) -> torch.Tensor:
    """Every uploaded file (images or .npy files) as one batch (N, C, H, W), N at most MAX_PAGE_TARGETS."""
    if not files:
        raise ValueError("no file uploaded: allowed images or a .npy of images")
    pieces = [npy_targets(name, data, shape) if name.lower().endswith(".npy") else image_target(name, data, shape)
              for name, data in files]
    targets = torch.cat(pieces)
    if targets.shape[0] > MAX_PAGE_TARGETS:
        raise ValueError(f"the uploads hold {targets.shape[0]} images: allowed 1 to {MAX_PAGE_TARGETS} per "
                         "projection here (the command line's `project` takes more)")
    return targets


def centred_drawing(gray: np.ndarray) -> np.ndarray:
    """A drawing (H, W) in [0, 1] with its ink scaled to DRAWN_INK_SHARE of the side and centred by its centre
    of mass, as MNIST's digits are; a blank drawing is returned as it is."""
    from PIL import Image

    height, width = gray.shape
    rows, columns = np.nonzero(gray > 0.05)
    if rows.size == 0:
        return gray
    crop = gray[rows.min(): rows.max() + 1, columns.min(): columns.max() + 1]
    fit = DRAWN_INK_SHARE * min(height, width) / max(crop.shape)
    size = (max(1, round(crop.shape[1] * fit)), max(1, round(crop.shape[0] * fit)))
    scaled = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.BILINEAR),
                        dtype=np.float32) / 255.0
    total = scaled.sum()
    ys, xs = np.indices(scaled.shape)
    centre_y, centre_x = (ys * scaled).sum() / total, (xs * scaled).sum() / total
    top = int(np.clip(round(height / 2 - centre_y), 0, height - scaled.shape[0]))
    left = int(np.clip(round(width / 2 - centre_x), 0, width - scaled.shape[1]))
    out = np.zeros_like(gray, dtype=np.float32)
    out[top: top + scaled.shape[0], left: left + scaled.shape[1]] = scaled
    return out


def drawn_target(drawing: object, shape: tuple[int, int, int], centre: bool = True) -> torch.Tensor:
    """The canvas's drawing ({"width", "height", "pixels": W*H gray values 0-255, row by row}) as a target
    (1, C, H, W) in [-1, 1], white ink on black; centred like MNIST's digits unless `centre` is False."""
    channels, height, width = shape
    if not isinstance(drawing, dict):
        raise ValueError("the drawing is invalid: allowed the canvas's own message")
    pixels = drawing.get("pixels")
    if drawing.get("width") != width or drawing.get("height") != height:
        raise ValueError(f"the drawing is {drawing.get('width')}x{drawing.get('height')} pixels: allowed "
                         f"{width}x{height} (the generator's size); draw again")
    if not isinstance(pixels, list) or len(pixels) != width * height or \
            not all(type(value) is int and 0 <= value <= 255 for value in pixels):
        raise ValueError(f"the drawing is invalid: allowed {width * height} gray values from 0 to 255")
    gray = np.asarray(pixels, dtype=np.float32).reshape(height, width) / 255.0
    if not (gray > 0.05).any():
        raise ValueError("the drawing is blank: draw a digit on the canvas, then press Use the drawing")
    if centre:
        gray = centred_drawing(gray)
    target = torch.from_numpy(np.repeat(gray[None], channels, axis=0)).unsqueeze(0) * 2.0 - 1.0
    return check_targets(target, shape, "the drawing", 1)


def training_indices(text: str, size: int) -> list[int]:
    """Indices into a training set of `size` images from text such as "0, 17 42": 1 to MAX_PAGE_TARGETS distinct
    whole numbers from 0 to size - 1, in the order given."""
    words = [word for word in re.split(r"[\s,;]+", str(text).strip()) if word]
    allowed = f"allowed 1 to {MAX_PAGE_TARGETS} whole numbers from 0 to {size - 1}, e.g. 0, 1"
    if not words or not all(word.isascii() and word.isdigit() and len(word) <= 9 for word in words):
        raise ValueError(f"Training images={text!r} is invalid: {allowed}")
    indices = list(dict.fromkeys(int(word) for word in words))
    if len(indices) > MAX_PAGE_TARGETS or any(index >= size for index in indices):
        raise ValueError(f"Training images={text!r} is invalid: {allowed}")
    return indices
