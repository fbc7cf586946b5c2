"""Reading files that may come from another machine: regular files only, with size limits, never blocking."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_CONFIG_BYTES = 1 << 20  # config.json: a few KB in practice
MAX_EVENTS_BYTES = 64 << 20  # events.jsonl: events are rare (a few per checkpoint)
MAX_METRICS_BYTES = 1 << 30  # metrics.csv: ~200 bytes a row, millions of rows at most
MAX_JSON_DEPTH = 32  # our JSON is at most 3 levels deep; deeper input is not ours


class UnreadableFile(ValueError):
    """A file that is not a regular file, is too large, or does not parse; the message says which."""


def open_regular(path: str | os.PathLike, limit: int) -> int:
    """A read-only descriptor of path, refused unless it is a regular file of at most limit bytes.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer forever.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError:
        raise UnreadableFile(f"{path.name} is a folder, not a file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{path.name} is not a regular file (a FIFO, device or socket)")
        if info.st_size > limit:
            raise UnreadableFile(f"{path.name} is {info.st_size} bytes: larger than the {limit}-byte limit")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most limit bytes (OSError if missing, UnreadableFile otherwise)."""
    with os.fdopen(open_regular(path, limit), "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:  # grew since the check
        raise UnreadableFile(f"{Path(path).name} is larger than the {limit}-byte limit")
    return data


def read_text(path: str | os.PathLike, limit: int, strict: bool = True) -> str:
    """UTF-8 text of a regular file; strict: undecodable bytes are an UnreadableFile, else replaced."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"{Path(path).name} is not UTF-8 text (byte {error.start})") from None


def read_json(path: str | os.PathLike, limit: int = MAX_CONFIG_BYTES) -> Any:
    """Parsed JSON of a small regular file; UnreadableFile for bad text, bad JSON or too deep nesting."""
    text = read_text(path, limit)
    if _nesting(text) > MAX_JSON_DEPTH:
        raise UnreadableFile(f"{Path(path).name} is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise UnreadableFile(f"{Path(path).name} is not valid JSON: {str(error).splitlines()[0][:200]}") from None


def _nesting(text: str) -> int:
    """Deepest bracket nesting outside strings (checked before json.loads, which recurses)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
