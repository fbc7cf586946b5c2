import pickle
import struct
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config.schema import DataConfig
from gan_core.data.datasets import BatchIndexSampler, DataError, load_dataset


def test_mnist5k_is_5000_real_digits_in_range():
    dataset = load_dataset(DataConfig(name="mnist5k"))
    assert dataset.images.shape == (5000, 1, 28, 28) and dataset.images.dtype == torch.float32
    assert dataset.images.min() == -1.0 and dataset.images.max() == 1.0
    assert sorted(dataset.labels.unique().tolist()) == list(range(10))


def test_digits_native_and_resized():
    native = load_dataset(DataConfig(name="digits"))
    assert native.images.shape == (1797, 1, 8, 8)
    assert -1.0 <= native.images.min() and native.images.max() <= 1.0
    resized = load_dataset(DataConfig(name="digits", image_size=16, channels=3, limit=10))
    assert resized.images.shape == (10, 3, 16, 16) and len(resized.labels) == 10


def _write_idx(path, array, magic):
    with open(path, "wb") as file:
        file.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        file.write(array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_torchvision_idx_sets_from_small_fake_files(tmp_path, name, folder):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    images = np.zeros((6, 28, 28), dtype=np.uint8)
    images[:, 10:18, 10:18] = 255
    for prefix in ("train", "t10k"):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images, 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(6), 2049)
    dataset = load_dataset(DataConfig(name=name, root=str(tmp_path)))
    assert dataset.images.shape == (6, 1, 28, 28)
    assert dataset.images[0, 0, 0, 0] == -1.0 and dataset.images[0, 0, 12, 12] == 1.0
    assert dataset.labels.tolist() == list(range(6))


def test_cifar10_from_small_fake_files(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    # The real files are checked by md5; fake ones only need to exist.
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: __import__("os").path.isfile(path))
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = np.full((2, 3072), 255, dtype=np.uint8)
        with open(base / name, "wb") as file:
            pickle.dump({"data": data, "labels": [3, 7]}, file)
    with open(base / "batches.meta", "wb") as file:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, file)
    dataset = load_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    assert dataset.images.shape == (10, 3, 32, 32) and torch.all(dataset.images == 1.0)
    gray = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), channels=1, image_size=28))
    assert gray.images.shape == (10, 1, 28, 28)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_missing_torchvision_files_say_where_and_how(tmp_path, name):
    with pytest.raises(DataError) as error:
        load_dataset(DataConfig(name=name, root=str(tmp_path / "nothing")))
    message = str(error.value)
    assert str(tmp_path / "nothing") in message and "data.download=true" in message


def test_failed_download_is_reported(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as mnist

    def refuse(*args, **kwargs):
        raise URLError("network unreachable")

    monkeypatch.setattr(mnist, "download_and_extract_archive", refuse)
    with pytest.raises(DataError, match="download into .* failed"):
        load_dataset(DataConfig(name="mnist", root=str(tmp_path), download=True))


def _png(path, size, color):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_folder_with_class_subfolders_any_sizes(tmp_path):
    _png(tmp_path / "cats" / "a.png", (40, 30), (255, 0, 0))
    _png(tmp_path / "cats" / "b.jpg", (10, 50), (255, 0, 0))
    _png(tmp_path / "dogs" / "c.png", (64, 64), (0, 0, 255))
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not an image")
    dataset = load_dataset(DataConfig(name="folder", path=str(tmp_path), image_size=16))
    assert dataset.images.shape == (3, 3, 16, 16)
    assert dataset.labels.tolist() == [0, 0, 1] and dataset.skipped == 1
    assert dataset.images[2, 2].mean() > 0.9 and dataset.images[2, 0].mean() < -0.9  # blue
    gray = load_dataset(DataConfig(name="folder", path=str(tmp_path), image_size=8, channels=1))
    assert gray.images.shape == (3, 1, 8, 8)


def test_folder_flat_has_no_labels(tmp_path):
    _png(tmp_path / "x.png", (12, 12), (10, 20, 30))
    dataset = load_dataset(DataConfig(name="folder", path=str(tmp_path), image_size=8))
    assert dataset.labels is None and dataset.images.shape == (1, 3, 8, 8)


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(DataConfig(name="folder", path=str(tmp_path / "missing")))
    with pytest.raises(DataError, match="no .png/.jpg/.jpeg images"):
        load_dataset(DataConfig(name="folder", path=str(tmp_path)))
    (tmp_path / "bad.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match="none of the 1 image files could be read"):
        load_dataset(DataConfig(name="folder", path=str(tmp_path)))


def test_sampler_covers_each_epoch_once_and_counts_epochs():
    sampler = BatchIndexSampler(10, 3, torch.Generator().manual_seed(0))
    first_epoch = torch.cat([sampler.next_indices() for _ in range(3)])
    assert len(set(first_epoch.tolist())) == 9 and sampler.epoch == 0
    sampler.next_indices()
    assert sampler.epoch == 1
    with pytest.raises(DataError, match="batch_size"):
        BatchIndexSampler(4, 5, torch.Generator())
