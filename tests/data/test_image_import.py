"""Importing a user's images: zip-slip, symlinks, bombs and limits refused by name; good uploads counted."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config.schema import DataConfig
from gan_core.data import image_import
from gan_core.data.datasets import load_dataset
from gan_core.data.image_import import ImportRefused, import_upload
from tests.support.uploads import zip_archive


def _png(width: int = 20, height: int = 12, value: int = 200, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color=(value, 0, 0) if mode == "RGB" else value).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_good_archive_is_imported_with_classes_counts_and_skips(tmp_path):
    archive = zip_archive([("shapes/circle/a.png", _png()), ("shapes/circle/b.jpg", _png(value=50)),
                    ("shapes/square/c.png", _png(30, 30)), ("shapes/square/notes.txt", b"hello"),
                    ("shapes/square/broken.png", b"not a png"), ("__MACOSX/shapes/._a.png", b"x")])
    report = import_upload([("shapes.zip", archive)], tmp_path / "data", "my-shapes", size=16, channels=1)
    assert report.per_class == {"circle": 2, "square": 1}
    assert report.skipped == {"not images": 1, "unreadable": 1, "system files": 1}
    assert "3 images in 2 classes" in report.summary() and "1 unreadable" in report.summary()
    written = sorted(p.relative_to(report.folder).as_posix() for p in report.folder.rglob("*.png"))
    assert written == ["circle/00000.png", "circle/00001.png", "square/00000.png"]
    with Image.open(report.folder / "square" / "00000.png") as image:
        assert image.size == (16, 16) and image.mode == "L"
    dataset = load_dataset(DataConfig(name="folder", path=str(report.folder), image_size=16, channels=1))
    assert dataset.images.shape == (3, 1, 16, 16) and sorted(dataset.labels.tolist()) == [0, 0, 1]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["my-shapes"]  # no staging folder left


@pytest.mark.parametrize("member", ["../evil.png", "a/../../evil.png", "/etc/evil.png", "C:/evil.png",
                                    "a\\..\\evil.png"])
def test_zip_slip_paths_are_refused_and_nothing_is_written(tmp_path, member):
    archive = zip_archive([("ok/a.png", _png()), (member, _png())])
    with pytest.raises(ImportRefused, match="archive member .* (climbs out|absolute or Windows)"):
        import_upload([("up.zip", archive)], tmp_path / "data", "x")
    assert not (tmp_path / "data" / "x").exists() and not (tmp_path / "evil.png").exists()


def test_symlinks_are_refused(tmp_path):
    with pytest.raises(ImportRefused, match="is a symbolic link"):
        import_upload([("up.zip", zip_archive([("a.png", _png())], symlink="link.png"))], tmp_path, "x")
    assert not (tmp_path / "x").exists()


def test_oversize_upload_archive_member_and_image_are_refused_naming_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(image_import, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(ImportRefused, match="allowed at most 1,000"):
        import_upload([("big.zip", b"\0" * 1001)], tmp_path, "x")
    monkeypatch.setattr(image_import, "MAX_UPLOAD_BYTES", 10**9)
    monkeypatch.setattr(image_import, "MAX_MEMBER_BYTES", 5000)
    bomb = zip_archive([("a.png", _png()), ("zeros.png", b"\0" * 100_000)])  # compresses to a few hundred bytes
    with pytest.raises(ImportRefused, match="unpacks to 100,000 bytes: allowed at most 5,000 per file"):
        import_upload([("bomb.zip", bomb)], tmp_path, "x")
    monkeypatch.setattr(image_import, "MAX_IMAGE_PIXELS", 100)  # a 20x12 image declares 240 pixels
    with pytest.raises(ImportRefused, match="no readable images .*1 over 100 pixels"):
        import_upload([("a.png", _png())], tmp_path, "y")


def test_too_many_entries_and_too_many_unpacked_bytes_are_refused_naming_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(image_import, "MAX_MEMBERS", 3)
    with pytest.raises(ImportRefused, match="the archive has 4 entries: allowed at most 3$"):
        import_upload([("a.zip", zip_archive([(f"{i}.png", _png()) for i in range(4)]))], tmp_path, "x")
    monkeypatch.setattr(image_import, "MAX_MEMBERS", 20_000)
    monkeypatch.setattr(image_import, "MAX_TOTAL_BYTES", 3000)
    with pytest.raises(ImportRefused, match="unpacks to more than 3,000 bytes: allowed at most 3,000$"):
        import_upload([("a.zip", zip_archive([(f"{i}.png", b"\0" * 1500) for i in range(3)]))], tmp_path, "x")
    assert list(tmp_path.iterdir()) == []


def test_a_decompression_bomb_png_is_skipped_before_decoding(tmp_path):
    big = io.BytesIO()
    Image.new("1", (5000, 5000)).save(big, format="PNG")  # 25 M pixels declared, a few kB on disk
    report = import_upload([("small.png", _png()), ("bomb.png", big.getvalue())], tmp_path, "z", size=8)
    assert report.images == 1 and report.skipped == {"over 16,000,000 pixels": 1}


def test_too_many_images_and_bad_names_and_existing_folders_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(image_import, "MAX_IMAGES", 2)
    with pytest.raises(ImportRefused, match="more than 2 images"):
        import_upload([(f"{i}.png", _png()) for i in range(3)], tmp_path, "x")
    for name in ("", "../up", "a/b", ".hidden", "x" * 65):
        with pytest.raises(ImportRefused, match="name=.* is invalid"):
            import_upload([("a.png", _png())], tmp_path, name)
    (tmp_path / "taken").mkdir()
    with pytest.raises(ImportRefused, match="already exists"):
        import_upload([("a.png", _png())], tmp_path, "taken")
    with pytest.raises(ImportRefused, match="not a readable zip archive"):
        import_upload([("a.zip", b"PK not really")], tmp_path, "w")


def test_loose_files_keep_only_their_base_names(tmp_path):
    report = import_upload([("../../escape.png", _png()), ("dir\\sub\\b.png", _png(value=9))], tmp_path, "loose",
                           size=8, channels=3)
    assert report.per_class == {"": 2}
    pixels = np.asarray(Image.open(report.folder / "00001.png"))
    assert pixels.shape == (8, 8, 3) and sorted(p.name for p in tmp_path.iterdir()) == ["loose"]
    assert torch.tensor(pixels[0, 0]).tolist() == [9, 0, 0]
