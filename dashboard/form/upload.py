"""The sidebar's "Upload your images": a zip archive or image files from the browser become a `folder` data
set in the runs root's data folder, shown as a preview grid with its counts before Start.

The engine (gan_core/data/image_import.py) vets and converts the upload; this file draws the widgets, checks the
upload's size before reading it, and points the sidebar's data fields at the result. Every name and message
that comes from the upload is shown as plain text (dashboard/ui/text.py)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.form.help import UPLOAD_HELP
from dashboard.resources import cached_dataset, data_root, folder_preview, real_grid
from dashboard.ui.text import plain
from gan_core.data import image_import
from gan_core.data.image_import import SIZES, ImportRefused, ImportReport, check_name

DEFAULT_SIZE = 32  # a user's photos at 32x32 train at a few steps/s on a laptop's CPU
CHANNEL_NAMES = {3: "RGB", 1: "grayscale"}

GENERATION_KEY = "upload.generation"  # part of the uploader's key: a new key after an import empties it
NAME_KEY = "upload.name"
SIZE_KEY = "upload.size"
CHANNELS_KEY = "upload.channels"
REPLACE_KEY = "upload.replace"
IMPORT_KEY = "upload.import"
RESULT_KEY = "upload.result"  # ("error" | "success", message) of the last Import
SKIPPED_KEY = "upload.skipped"  # folder -> what its import skipped, for the preview's counts

SetFields = Callable[[dict[str, Any]], None]


def files_key() -> str:
    """The uploader's current session_state key."""
    return f"upload.files.{st.session_state.get(GENERATION_KEY, 0)}"


def size_refusal(files: list) -> str | None:
    """The message when the uploaded files together exceed the engine's upload limit (read from .size,
    before any byte is read); None when they fit."""
    total = sum(int(file.size) for file in files)
    limit = image_import.MAX_UPLOAD_BYTES
    if total > limit:
        megabytes = f" ({limit / 2**20:,.0f} MB)" if limit >= 2**20 else ""
        return f"the upload is {total:,} bytes: allowed at most {limit:,} bytes{megabytes} in all"
    return None


def name_refusal(name: str, root: Path, replace: bool) -> str | None:
    """The message beside the name field: an invalid name, or one already used (unless Replace is ticked)."""
    if not name:
        return None
    try:
        check_name(name)
    except ImportRefused as error:
        return str(error)
    target = root / name
    if (target.exists() or target.is_symlink()) and not replace:
        return f"name={name!r} is taken: {target} exists; allowed a new name, or tick Replace to overwrite it"
    return None


def import_into(files: list[tuple[str, bytes]], root: Path, name: str, size: int, channels: int,
                replace: bool = False) -> ImportReport:
    """import_upload into root/name; with `replace`, an existing data set of that name is swapped out only
    once the new one is complete, so a refused upload leaves the old one as it was."""
    target = root / check_name(name)
    if not replace or not (target.exists() or target.is_symlink()):
        return image_import.import_upload(files, root, name, size, channels)
    if target.is_symlink() or not target.is_dir():
        raise ImportRefused(f"name={name!r}: {target} is not a plain folder: allowed to replace only a data set "
                            "folder")
    image_import.clean_staging_folders(root)  # what a killed import or replace left behind
    incoming = image_import.staging_folder(root, "incoming", name)
    try:
        report = image_import.import_upload(files, incoming, name, size, channels)
        retired = image_import.staging_folder(root, "replaced", name)
        target.rename(retired / name)
        (incoming / name).rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    report.folder = target
    return report


def uploaded_folder(path: str, runs_root: str | Path) -> Path | None:
    """`path` resolved, when it is a folder inside the runs root's data folder (an upload); else None."""
    if not path:
        return None
    try:
        folder, root = Path(path).expanduser().resolve(), data_root(runs_root).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if root not in folder.parents or any(part.startswith(".") for part in folder.relative_to(root).parts):
        return None
    return folder if folder.is_dir() else None


def render_upload(container, runs_root: str | Path, path: str, set_fields: SetFields,
                  disabled: bool = False) -> None:
    """The "Upload your images" expander, then the preview and counts of `path` when it is an upload."""
    root = data_root(runs_root)
    state = st.session_state
    state.setdefault(SIZE_KEY, DEFAULT_SIZE)
    state.setdefault(CHANNELS_KEY, 3)
    key = files_key()
    kind, message = state.get(RESULT_KEY) or (None, "")
    # Open while no folder is chosen or a refusal needs reading; after an import the preview below is the news.
    with container.expander("Upload your images", expanded=not path or kind == "error", icon=":material/upload:"):
        files = st.file_uploader(
            "A .zip of images, or image files", type=["zip", *(s.lstrip(".") for s in image_import.IMAGE_SUFFIXES)],
            accept_multiple_files=True, key=key, help=UPLOAD_HELP["files"], disabled=disabled,
            max_upload_size=max(1, image_import.MAX_UPLOAD_BYTES // 2**20), on_change=_files_changed, args=(key,))
        files = list(files or [])
        too_big = size_refusal(files)
        if too_big:
            st.error(plain(too_big))
        name = st.text_input("Data set name", key=NAME_KEY, max_chars=64, help=UPLOAD_HELP["name"],
                             disabled=disabled, placeholder="e.g. my-shapes").strip()
        bad_name = name_refusal(name, root, bool(state.get(REPLACE_KEY)))
        if bad_name:
            st.error(plain(bad_name))
        size_column, channels_column = st.columns(2)
        size_column.selectbox("Resize to", SIZES, key=SIZE_KEY, format_func=lambda s: f"{s}×{s}",
                              help=UPLOAD_HELP["size"], disabled=disabled)
        channels_column.selectbox("Colour", tuple(CHANNEL_NAMES), key=CHANNELS_KEY, format_func=CHANNEL_NAMES.get,
                                  help=UPLOAD_HELP["channels"], disabled=disabled)
        st.checkbox("Replace a data set of this name", key=REPLACE_KEY, help=UPLOAD_HELP["replace"],
                    disabled=disabled)
        ready = bool(files) and bool(name) and not too_big and not bad_name
        st.button("Import", key=IMPORT_KEY, type="primary", disabled=disabled or not ready,
                  help=UPLOAD_HELP["import"], on_click=_import, args=(root, key, set_fields))
        if kind == "error":  # until the upload changes
            st.error(plain(message, limit=1000))
    if kind == "success":  # once: the preview's caption keeps the counts
        container.success(plain(message, limit=1000))
        state.pop(RESULT_KEY)
    folder = uploaded_folder(path, runs_root)
    if folder is not None:
        render_preview(container, folder)


def render_preview(container, folder: Path) -> None:
    """A grid of up to 64 images spread over the folder, with its images per class (and what its import skipped)."""
    try:
        stat = folder.stat()
        grid, per_class, shape = folder_preview(str(folder), (stat.st_ino, stat.st_mtime_ns))
    except OSError as error:
        container.error(plain(f"data.path={str(folder)!r}: cannot read the folder ({error})"))
        return
    if grid is not None:
        container.image(grid, width="stretch")
    text = counts_text(per_class) + (f", {shape}" if shape else "")
    skipped = st.session_state.get(SKIPPED_KEY, {}).get(str(folder))
    if skipped:
        text += f"; its import skipped {skipped}"
    labels = " Its class folders are the labels." if any(per_class) else ""
    container.caption(plain(f"{folder.name}: {text}.{labels}"))


def counts_text(per_class: dict[str, int]) -> str:
    """'20 images in 2 classes (circle 10, square 10)', or '7 images' without class folders."""
    total = sum(per_class.values())
    text = f"{total:,} image{'s' if total != 1 else ''}"
    classes = [label for label in per_class if label]
    if classes:
        text += f" in {len(classes)} class{'es' if len(classes) != 1 else ''} ("
        text += ", ".join(f"{label or 'no class'} {count:,}" for label, count in per_class.items()) + ")"
    return text


def _files_changed(key: str) -> None:
    """A new upload: forget the last Import's message, and suggest a name from a zip's file name."""
    st.session_state.pop(RESULT_KEY, None)
    files = st.session_state.get(key) or []
    if len(files) == 1 and not st.session_state.get(NAME_KEY):
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(files[0].name).stem).strip("-_")[:64]
        if stem:
            st.session_state[NAME_KEY] = stem


def _import(root: Path, key: str, set_fields: SetFields) -> None:
    """The Import button: import the upload, then point the sidebar's data fields at the new folder."""
    state = st.session_state
    files = list(state.get(key) or [])
    name, size, channels = (state.get(NAME_KEY) or "").strip(), state[SIZE_KEY], state[CHANNELS_KEY]
    replace = bool(state.get(REPLACE_KEY))
    refusal = size_refusal(files) or name_refusal(name, root, replace)
    if refusal or not files:
        state[RESULT_KEY] = ("error", refusal or "choose a .zip archive or image files first")
        return
    try:
        report = import_into([(file.name, file.getvalue()) for file in files], root, name, size, channels, replace)
    except ImportRefused as error:
        state[RESULT_KEY] = ("error", f"Nothing imported: {error}")
        return
    except OSError as error:  # a full disk, a read-only folder: the import left nothing behind; say which and where
        state[RESULT_KEY] = ("error", f"Nothing imported: {error.strerror or error}: {error.filename or root}")
        return
    folder = report.folder.resolve()
    skipped = ", ".join(f"{count:,} {reason}" for reason, count in sorted(report.skipped.items()))
    state.setdefault(SKIPPED_KEY, {})[str(folder)] = skipped
    state[RESULT_KEY] = ("success", f"Imported {counts_text(report.per_class)} as data/{folder.name}"
                         + (f"; skipped {skipped}" if skipped else "; nothing skipped")
                         + ". Image folder, Image size and Channels now point at it.")
    set_fields({"data.name": "folder", "data.path": str(folder), "data.image_size": size, "data.channels": channels})
    if replace:  # the same path now holds other images: drop the copies loaded from the old ones
        cached_dataset.clear()
        real_grid.clear()
    state[GENERATION_KEY] = state.get(GENERATION_KEY, 0) + 1  # a fresh, empty uploader frees the upload's bytes
    state[NAME_KEY] = ""
    state[REPLACE_KEY] = False
