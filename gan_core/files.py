"""Files in folders that may come from another machine (run directories above all): the one safe reader
and the one writer.

Reads: regular files only, with size limits, never blocking, never through a symbolic link.
Writes: `write_atomic` / `atomic_writer` replace a name with a new file (temp file beside it, fsync,
os.replace), so a link at that name is replaced, never written through; `open_append` opens a plain file
for appending and refuses a link, FIFO, folder or a file with other names (hard links).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

MAX_CONFIG_BYTES = 1 << 20  # config.json: a few KB in practice
MAX_EVENTS_BYTES = 64 << 20  # events.jsonl: events are rare (a few per checkpoint)
MAX_METRICS_BYTES = 1 << 30  # metrics.csv: ~200 bytes a row, millions of rows at most
MAX_JSON_DEPTH = 32  # our JSON is at most 3 levels deep; deeper input is not ours


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnreadableFile(ValueError):
    """A file that is not a regular file, is too large, or does not parse; the message says which."""


def open_regular(path: str | os.PathLike, limit: int, follow_links: bool = False) -> int:
    """A read-only descriptor of path, refused unless it is a regular file of at most limit bytes.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer forever. A symbolic
    link is refused (follow_links: a path the user named on the command line, whose links are theirs).
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _CLOEXEC | (0 if follow_links else _NOFOLLOW))
    except IsADirectoryError:
        raise UnreadableFile(f"{path.name} is a folder, not a file") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnreadableFile(f"{path.name} is a symbolic link: links in a run folder are not followed") from None
        raise
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


def read_bytes(path: str | os.PathLike, limit: int, follow_links: bool = False) -> bytes:
    """The bytes of a regular file of at most limit bytes (OSError if missing, UnreadableFile otherwise)."""
    with os.fdopen(open_regular(path, limit, follow_links), "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:  # grew since the check
        raise UnreadableFile(f"{Path(path).name} is larger than the {limit}-byte limit")
    return data


def read_text(path: str | os.PathLike, limit: int, strict: bool = True, follow_links: bool = False) -> str:
    """UTF-8 text of a regular file; strict: undecodable bytes are an UnreadableFile, else replaced."""
    data = read_bytes(path, limit, follow_links)
    try:
        return data.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"{Path(path).name} is not UTF-8 text (byte {error.start})") from None


def read_json(path: str | os.PathLike, limit: int = MAX_CONFIG_BYTES, follow_links: bool = False) -> Any:
    """Parsed JSON of a small regular file; UnreadableFile for bad text, bad JSON or too deep nesting."""
    text = read_text(path, limit, follow_links=follow_links)
    if json_nesting(text) > MAX_JSON_DEPTH:
        raise UnreadableFile(f"{Path(path).name} is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise UnreadableFile(f"{Path(path).name} is not valid JSON: {str(error).splitlines()[0][:200]}") from None


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file whose content replaces path's name when the block ends without an error.

    The temp file (.<name>.<random>.tmp beside path) is created with O_EXCL, so it is never a link; os.replace
    then swaps the name, so a link at path is replaced, never written through, and a reader sees the old
    file or the new one, never half of one. durable: fsync the file and its folder (a power cut keeps it).
    On an error the temp file is removed and path is left as it was.
    """
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            if durable:
                os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if durable:  # the rename itself survives a power cut
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def write_atomic(path: str | os.PathLike, data: bytes | str, durable: bool = True) -> Path:
    """Replace path's name with a regular file holding data (str as UTF-8); see atomic_writer."""
    with atomic_writer(path, durable) as file:
        file.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def open_append(path: str | os.PathLike, newline: str | None = None) -> IO[str]:
    """A UTF-8 text file opened to append (created if missing), refused with an UnreadableFile unless path is
    a plain regular file with no other name: never a symbolic link (O_NOFOLLOW), a FIFO (O_NONBLOCK: no wait
    for a reader), a folder or a hard link to a file elsewhere."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnreadableFile(f"{path.name} is a symbolic link: nothing is written through a link") from None
        if error.errno == errno.EISDIR:
            raise UnreadableFile(f"{path.name} is a folder, not a file") from None
        if error.errno == errno.ENXIO:  # a FIFO without a reader
            raise UnreadableFile(f"{path.name} is not a regular file (a FIFO, device or socket)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"{path.name} is not a regular file (a FIFO, device or socket)")
        if info.st_nlink > 1:
            raise UnreadableFile(f"{path.name} has {info.st_nlink} names (hard links): nothing is appended to a "
                                 "file that lives elsewhere too")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8", newline=newline)
    except BaseException:
        os.close(fd)
        raise


def json_nesting(text: str) -> int:
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


# What torch's zip writer says when a write under it failed (the OSError may be gone by then).
_TORCH_WRITE_FAILURES = ("PytorchStreamWriter failed writing", "unexpected pos", "file write failed")


def write_error(error: BaseException) -> OSError | None:
    """The OSError behind a failed write, or None. torch.save on a full disk raises a RuntimeError of its own
    while the OSError is being handled (its writer finds the file shorter than it wrote): that is a write error
    too."""
    if isinstance(error, OSError):
        return error
    if not isinstance(error, RuntimeError):
        return None
    cause: BaseException | None = error
    for _ in range(8):  # the chain of causes is short; a loop in it must not hang
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
        if isinstance(cause, OSError):
            return cause
    if any(text in str(error) for text in _TORCH_WRITE_FAILURES):
        message = " ".join(str(error).split())[:160]
        return OSError(errno.EIO, f"a file could not be written ({message})")
    return None


def located(error: OSError, folder: str | os.PathLike | None) -> OSError:
    """The error naming `folder` when it names no file itself (a failed write() or fsync() names none)."""
    if error.filename or folder is None:
        return error
    return OSError(error.errno, error.strerror or " ".join(str(error).split()), str(folder))


def describe_write_error(error: OSError) -> str:
    """An OSError as `cause: file`, for the error line and a `failed` event."""
    return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
