"""What the checkpoint commands read from the command line, vetted: .npy arrays (samples, images to project,
latents, classes), an output file name, and a conditional checkpoint's --class."""

from __future__ import annotations

import math
from pathlib import Path

MAX_SAMPLES = 100_000  # images in a --samples file, as --n allows
MAX_SAMPLES_BYTES = 1 << 30  # of array data in a --samples file: read whole, then converted to float32


def check_out_file(out: Path) -> None:
    """--out must name a file to write, not an existing folder or a device."""
    if out.is_dir():
        raise ValueError(f"--out={str(out)!r} is an existing folder: allowed a file name, "
                         f"e.g. {str(out / ('samples' + out.suffix))!r}")
    if out.exists() and not out.is_file():
        raise ValueError(f"--out={str(out)!r} exists and is not a regular file")


def class_labels(class_index: int | None, generator, count: int):
    """--class K as (count,) labels for a conditional generator; None without --class (classes in turn)."""
    import torch

    classes = getattr(generator, "num_classes", 0)
    if class_index is None:
        return None
    if not classes:
        raise ValueError(f"--class={class_index} is invalid: the checkpoint is not conditional (model.conditional "
                         "is false); leave --class out")
    if not 0 <= class_index < classes:
        raise ValueError(f"--class={class_index} is invalid: allowed an integer from 0 to {classes - 1}")
    return torch.full((count,), class_index, dtype=torch.int64)


# The shapes load_samples_npy accepts per item: N x C x H x W images, N x 2 points, N x D latents, N labels.
_NPY_ITEMS = {"image": (3, 256, "N x C x H x W"), "point": (1, 2, "N x 2"), "vector": (1, 4096, "N x D"),
              "labels": (0, 0, "N")}


def load_samples_npy(path: Path, label: str, max_count: int = MAX_SAMPLES, item: str = "image"):
    """A .npy of N x C x H x W numbers (item "image"; "point": N x 2, "vector": N x D, "labels": N), its header
    vetted (shape, dtype, N <= max_count, against the file's real size) before anything is allocated; never
    unpickled. ValueError naming the file (`label`) and what is allowed."""
    import numpy as np
    import numpy.lib.format as npy_format

    with open(path, "rb") as file:
        try:
            version = npy_format.read_magic(file)
            read_header = {(1, 0): npy_format.read_array_header_1_0,
                           (2, 0): npy_format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"format version {version}")
            shape, _fortran_order, dtype = read_header(file)  # np.load handles either order
        except (ValueError, SyntaxError, EOFError, OSError) as error:
            first_line = (str(error).splitlines() or [type(error).__name__])[0][:200]
            raise ValueError(f"{label} is not a .npy file that can be read safely ({first_line}): allowed an "
                             "array saved by numpy.save") from None
        data_offset = file.tell()
        file_bytes = file.seek(0, 2)
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "fiu":
        raise ValueError(f"{label} holds {dtype} values: allowed numbers (float, int or uint)")
    axes, largest, described = _NPY_ITEMS[item]
    sides_fit = all(1 <= side <= largest for side in shape[1:]) and (item != "point" or tuple(shape[1:]) == (2,))
    if len(shape) != axes + 1 or not 1 <= shape[0] <= max_count or not sides_fit:
        sides = f" and sides of at most {largest}" if item in ("image", "vector") else ""
        raise ValueError(f"{label} declares an array of shape {shape}: allowed {described} with N from 1 to "
                         f"{max_count:,}{sides}")
    declared = math.prod(shape) * dtype.itemsize
    described = " x ".join(map(str, shape))
    if declared > MAX_SAMPLES_BYTES:
        raise ValueError(f"{label} declares {described} {dtype} values ({declared:,} bytes): allowed at most "
                         f"{MAX_SAMPLES_BYTES:,} bytes; score fewer samples")
    if file_bytes - data_offset != declared:
        raise ValueError(f"{label} declares {described} {dtype} values ({declared:,} bytes) but holds "
                         f"{file_bytes - data_offset:,} bytes of data: truncated or not written by numpy.save")
    return np.load(path, allow_pickle=False)  # the header is vetted: this allocates what the file holds
