"""One writer per run directory: a lock file naming the owner's pid and host, recovered when stale."""

from __future__ import annotations

import atexit
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from gan_core.safe_io import UnreadableFile, read_text

LOCK_NAME = "owner.lock"
MAX_LOCK_BYTES = 4096  # a lock file is one small JSON object; anything larger is not ours
FRESH_LOCK_S = 10.0  # an unreadable lock younger than this may be one being written right now

_held: dict[str, "RunLock"] = {}  # locks this process holds, by resolved run directory
_held_guard = threading.Lock()


class RunLockedError(ValueError):
    """The run directory is owned by another live writer; the message names it (pid, host)."""


class RunLock:
    """This process's ownership of one run directory; release() removes the lock file."""

    def __init__(self, root: Path, owner: dict[str, Any]) -> None:
        self.root = root
        self.path = root / LOCK_NAME
        self.owner = owner

    def release(self) -> None:
        """Remove the lock file if it is still ours; safe to call twice."""
        with _held_guard:
            if _held.get(_key(self.root)) is not self:
                return
            del _held[_key(self.root)]
        if _read_owner(self.path) == self.owner:
            try:
                self.path.unlink()
            except OSError:
                pass  # a read-only or vanished folder: the lock is stale once this pid is gone


def acquire_run_lock(root: str | os.PathLike) -> RunLock:
    """Own root (it must exist): create its lock file, recovering a stale one; RunLockedError if owned."""
    root = Path(root)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "time": round(time.time(), 3)}
    path = root / LOCK_NAME
    for _ in range(3):  # a stale lock is removed, then creation is tried again
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            current = _read_owner(path)
            if current is None and _age_s(path) < FRESH_LOCK_S:
                raise RunLockedError(f"run directory {str(root)!r} is being taken by another process "
                                     f"(its lock {path} was just created)") from None
            if current is not None and not _is_stale(current):
                raise RunLockedError(f"run directory {str(root)!r} is in use by {describe_owner(current)}: "
                                     f"wait for it to end (or, if that process is gone, delete {path})") from None
            # Stale (or unreadable: a crash between create and write). Remove it only if unchanged,
            # so a lock another process has just taken over is not deleted.
            if _read_owner(path) == current:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(json.dumps(owner))
            file.flush()
            os.fsync(file.fileno())
        lock = RunLock(root, owner)
        with _held_guard:
            _held[_key(root)] = lock
        return lock
    raise RunLockedError(f"run directory {str(root)!r}: could not take its lock {path} (another process "
                         "keeps replacing it)")


def release_run_lock(root: str | os.PathLike) -> None:
    """Release this process's lock on root, if it holds one."""
    with _held_guard:
        lock = _held.get(_key(Path(root)))
    if lock is not None:
        lock.release()


def run_owner(root: str | os.PathLike) -> str | None:
    """'pid N on host H since T' when a live process owns root (so it must not be resumed); else None."""
    owner = _read_owner(Path(root) / LOCK_NAME)
    if owner is None or _is_stale(owner):
        return None
    return describe_owner(owner)


def describe_owner(owner: dict[str, Any]) -> str:
    """A lock's owner in words: pid, host and since when."""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner["time"])) if owner.get("time") else "?"
    return f"pid {owner['pid']} on host {owner['host'][:100]} since {since}"  # a file's text: kept short


def _read_owner(path: Path) -> dict[str, Any] | None:
    """The lock's JSON if it is a small regular file holding {pid: int, host: str, ...}; None otherwise."""
    try:
        owner = json.loads(read_text(path, MAX_LOCK_BYTES))
    except (OSError, UnreadableFile, ValueError, RecursionError):
        return None
    if (not isinstance(owner, dict) or not isinstance(owner.get("pid"), int)
            or not isinstance(owner.get("host"), str) or not isinstance(owner.get("time", 0), (int, float))):
        return None
    return owner


def _is_stale(owner: dict[str, Any]) -> bool:
    """True when the owner ran on this host and its pid no longer exists (another host: never known)."""
    if owner["host"] != socket.gethostname():
        return False
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return owner["pid"] <= 0
    return False


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.lstat().st_mtime
    except OSError:
        return float("inf")


def _key(root: Path) -> str:
    return os.path.realpath(root)


@atexit.register
def _release_all() -> None:
    """At exit, leave no lock of this process behind (a crash leaves one, recovered as stale)."""
    for lock in list(_held.values()):
        lock.release()
