"""Upload fixtures built in memory: small PNGs and zip archives, with symlink members for the hostile cases."""

from __future__ import annotations

import io
import stat
import zipfile

from PIL import Image


def zip_archive(entries: list[tuple[str, bytes]], symlink: str | None = None) -> bytes:
    """A zip of (member name, content) entries; symlink names an extra member stored as a link to /etc/passwd."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            archive.writestr(name, content)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def solid_png(value: int, size: int = 20) -> bytes:
    """A small solid-colour RGB PNG, size wide and size + 4 high, its colour set by value (0..255)."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size + 4), color=(value, 64, 255 - value)).save(buffer, format="PNG")
    return buffer.getvalue()


def shapes_zip(per_class: int = 10, extra: list[tuple[str, bytes]] | None = None, symlink: str | None = None) -> bytes:
    """A zip as 'compress folder' makes it: shapes/circle/*.png and shapes/square/*.png, plus `extra` members."""
    images = [(f"shapes/{('circle', 'square')[index % 2]}/{index:02d}.png", solid_png(index * 12))
              for index in range(2 * per_class)]
    return zip_archive(images + list(extra or []), symlink=symlink)
