"""A user's own images (a zip archive or loose files, e.g. from a browser upload) -> a clean image folder.

Everything here is untrusted input. The archive is vetted before anything is written: its size, the number
of members, each member's name (no absolute paths, no '..', no backslashes: nothing may escape the target
folder), no symlinks, and each member's uncompressed size (zip bombs). Each image's declared pixel count is
checked from its header before it is decoded (decompression bombs). Images are decoded, centre-cropped,
resized and re-encoded as PNG, so the folder never holds the uploaded bytes themselves. The result is
written to a temporary folder beside the target and renamed into place at the end: a failed import leaves
nothing behind. Class subfolders (after one common top folder is stripped) become labels, as the `folder`
data set reads them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # the archive (or all loose files together)
MAX_MEMBERS = 20_000  # entries in an archive, images or not
MAX_IMAGES = 10_000
MAX_MEMBER_BYTES = 32 * 1024 * 1024  # one member, uncompressed
MAX_TOTAL_BYTES = 512 * 1024 * 1024  # all members, uncompressed (held in memory while importing)
MAX_IMAGE_PIXELS = 16_000_000  # declared width x height of one image (4000 x 4000)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_CLASS_NAME_CHARS = 64  # a class folder's name (a label, in any script)
SIZES = (8, 16, 28, 32, 64, 128)


class ImportRefused(ValueError):
    """The upload breaks a rule; the message names the rule and its limit. Nothing was written."""


class ImageSkipped(Exception):
    """One image is skipped, not the upload; the message is the reason counted in ImportReport.skipped."""


@dataclass
class ImportReport:
    """What an import made: the folder, images per class, and what was skipped and why."""

    folder: Path
    per_class: dict[str, int] = field(default_factory=dict)  # "" for images outside class folders
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    @property
    def images(self) -> int:
        """Images written."""
        return sum(self.per_class.values())

    def summary(self) -> str:
        """One line for the page or the CLI."""
        classes = [name for name in self.per_class if name]
        text = f"{self.images} images" + (f" in {len(classes)} classes" if classes else "")
        if self.skipped:
            text += "; skipped " + ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped.items()))
        return text


def check_name(name: str) -> str:
    """The data set's folder name, checked: letters, digits, '-' and '_', 1 to 64 characters."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ImportRefused(f"name={name!r} is invalid: allowed 1-64 letters, digits, '-' or '_', "
                            "starting with a letter or digit")
    return name


def _member_path(name: str) -> PurePosixPath:
    """An archive member's relative path, refused if it could land outside the target folder."""
    if "\\" in name or "\0" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ImportRefused(f"archive member {name!r} has an absolute or Windows path: allowed only "
                            "relative paths inside the archive's folder")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise ImportRefused(f"archive member {name!r} climbs out of its folder with '..': allowed only "
                            "paths that stay inside the archive's folder")
    return path


def _vet_archive(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's file members, after every rule that does not need decompression is checked."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(f"the archive has {len(members)} entries: allowed at most {MAX_MEMBERS}")
    files, total = [], 0
    for info in members:
        _member_path(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ImportRefused(f"archive member {info.filename!r} is a symbolic link: links are not allowed")
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise ImportRefused(f"archive member {info.filename!r} unpacks to {info.file_size:,} bytes: allowed "
                                f"at most {MAX_MEMBER_BYTES:,} per file")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ImportRefused(f"the archive unpacks to more than {MAX_TOTAL_BYTES:,} bytes: allowed at most "
                                f"{MAX_TOTAL_BYTES:,}")
        files.append(info)
    return files


def _zip_members(data: bytes) -> Iterator[tuple[PurePosixPath, bytes]]:
    """(relative path, bytes) of each file in a vetted zip archive given as bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ImportRefused(f"the upload is not a readable zip archive ({error})") from None
    with archive:
        for info in _vet_archive(archive):
            try:
                with archive.open(info) as member:
                    content = member.read(MAX_MEMBER_BYTES + 1)  # bounded even if the header lies
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
                content = None  # an encrypted or damaged member: skipped and counted below
            yield _member_path(info.filename), content if content is not None and len(content) <= MAX_MEMBER_BYTES else b""


def _strip_common_top(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """Drop one top folder that every path shares (zips made by 'compress folder' have one)."""
    tops = {path.parts[0] for path in paths if len(path.parts) > 1}
    if len(tops) == 1 and all(len(path.parts) > 1 for path in paths):
        return [PurePosixPath(*path.parts[1:]) for path in paths]
    return paths


def _class_of(path: PurePosixPath) -> str:
    """The class folder of an image (its first folder, NFC-normalised), "" at the top; ImageSkipped naming
    the reason when it is nested deeper than one folder or its folder's name cannot be a label."""
    if len(path.parts) == 1:
        return ""
    if len(path.parts) > 2:
        raise ImageSkipped("nested too deep")
    return _class_name(path.parts[0])


def _class_name(name: str) -> str:
    """A class folder's name as a label: any script (a label is text: 猫, chien), but no control or format
    characters (newlines, bidirectional overrides), no separators, not '.' or '..', at most 64 characters."""
    name = unicodedata.normalize("NFC", name)
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise ImageSkipped("in class folders with control characters")
    if name in (".", "..") or "/" in name or "\\" in name or len(name) > MAX_CLASS_NAME_CHARS \
            or len(name.encode("utf-8")) > 255:
        raise ImageSkipped("in class folders with unusable names")
    return name


def _convert(content: bytes, size: int, channels: int):
    """Decoded, checked, centre-cropped and resized PIL image, or the reason it was skipped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:  # from the header, before decoding
                return f"over {MAX_IMAGE_PIXELS:,} pixels"
            image = image.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return "unreadable"
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)


def import_images(uploaded: Iterable[tuple[PurePosixPath, bytes]], data_root: Path, name: str, size: int = 64,
                  channels: int = 3) -> ImportReport:
    """Write each decodable image of `uploaded` as PNG under data_root/name/[class/]; the report of it."""
    check_name(name)
    if size not in SIZES:
        raise ImportRefused(f"size={size!r} is invalid: allowed one of {', '.join(map(str, SIZES))}")
    if channels not in (1, 3):
        raise ImportRefused(f"channels={channels!r} is invalid: allowed 1 (grayscale) or 3 (RGB)")
    data_root = Path(data_root)
    target = data_root / name
    if target.exists() or target.is_symlink():
        raise ImportRefused(f"name={name!r}: {target} already exists: allowed a name not used yet")
    members, system = [], 0
    for path, content in uploaded:  # macOS resource forks and dot files are not the user's images
        if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
            system += 1
        else:
            members.append((path, content))
    paths = _strip_common_top([path for path, _ in members])
    data_root.mkdir(parents=True, exist_ok=True)
    clean_staging_folders(data_root)  # what a killed import left behind
    staging = staging_folder(data_root, "import", name)
    report = ImportReport(folder=target)
    if system:
        report.skipped["system files"] = system
    try:
        for path, (_, content) in zip(paths, members):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                report.skipped["not images"] += 1
                continue
            try:
                label = _class_of(path)
            except ImageSkipped as reason:
                report.skipped[str(reason)] += 1
                continue
            if report.images >= MAX_IMAGES:
                raise ImportRefused(f"the upload has more than {MAX_IMAGES:,} images: allowed at most {MAX_IMAGES:,}")
            image = _convert(content, size, channels) if content else "unreadable"
            if isinstance(image, str):
                report.skipped[image] += 1
                continue
            folder = staging / label if label else staging
            folder.mkdir(exist_ok=True)
            index = report.per_class.get(label, 0)
            image.save(folder / f"{index:05d}.png", format="PNG")
            report.per_class[label] = index + 1
        if report.images == 0:
            raise ImportRefused(f"no readable images in the upload ({report.summary()}): allowed "
                                f"{', '.join(IMAGE_SUFFIXES)} files")
        os.replace(staging, target)  # all or nothing: the folder appears whole
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return report


def import_upload(files: Iterable[tuple[str, bytes]], data_root: Path, name: str, size: int = 64,
                  channels: int = 3) -> ImportReport:
    """Import uploaded files: one .zip archive, or loose image files; refused past the upload size limit."""
    files = list(files)
    total = sum(len(content) for _, content in files)
    if total > MAX_UPLOAD_BYTES:
        raise ImportRefused(f"the upload is {total:,} bytes: allowed at most {MAX_UPLOAD_BYTES:,}")
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        return import_images(_zip_members(files[0][1]), data_root, name, size, channels)
    if any(filename.lower().endswith(".zip") for filename, _ in files):
        raise ImportRefused("upload one .zip archive on its own, or image files without an archive")
    # Loose files: only the base name counts (a browser sends no folders), so nothing can escape.
    members = [(PurePosixPath(PurePosixPath(filename.replace("\\", "/")).name or "unnamed"), content)
               for filename, content in files]
    return import_images(members, data_root, name, size, channels)


# ---- staging folders: .import-<name>-p<pid>-<random> (and upload.py's .incoming-, .replaced-) ----------

STAGING_KINDS = ("import", "incoming", "replaced")
STAGING_GRACE_S = 60.0  # a staging folder without a pid in its name (an older version's) is a leftover after this
_STAGING_NAME = re.compile(r"^\.(?P<kind>import|incoming|replaced)-(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63}?)"
                           r"(?:-p(?P<pid>\d{1,10}))?-[a-z0-9_]+$")


def staging_folder(parent: Path, kind: str, name: str) -> Path:
    """A new hidden folder in parent for one import step, named after this process so that
    clean_staging_folders leaves it alone while the process lives."""
    if kind not in STAGING_KINDS:
        raise ValueError(f"kind={kind!r} is invalid: allowed {', '.join(STAGING_KINDS)}")
    return Path(tempfile.mkdtemp(prefix=f".{kind}-{check_name(name)}-p{os.getpid()}-", dir=parent))


def clean_staging_folders(data_root: Path) -> list[Path]:
    """Remove the staging folders a killed import left in data_root; returns them.

    A folder goes when the process named in it is gone (a name without a pid: once STAGING_GRACE_S old), so
    an import running now, in this process or another, is never broken. A `.replaced-` folder whose data
    set has no successor (a kill between the two renames of a replace) is moved back into place instead.
    """
    from gan_core.runtime.processes import process_exists

    try:
        entries = list(os.scandir(data_root))
    except OSError:
        return []
    removed = []
    for entry in entries:
        match = _STAGING_NAME.match(entry.name)
        try:
            if match is None or not entry.is_dir(follow_symlinks=False):
                continue
            if match["pid"]:
                in_use = process_exists(int(match["pid"]))
            else:
                in_use = time.time() - entry.stat(follow_symlinks=False).st_mtime < STAGING_GRACE_S
            if in_use:
                continue
            folder, target = Path(data_root) / entry.name, Path(data_root) / match["name"]
            kept = folder / match["name"]
            if match["kind"] == "replaced" and not (target.exists() or target.is_symlink()) \
                    and kept.is_dir() and not kept.is_symlink():
                kept.rename(target)  # the old data set back: the new one never arrived
            shutil.rmtree(folder)
            removed.append(folder)
        except OSError:
            continue  # another cleaner got there first, or the folder is not ours to remove
    return removed
