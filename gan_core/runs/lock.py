"""One writer per run directory: a lock file naming the owner's pid and host, recovered when stale."""

from __future__ import annotations

import atexit
import json
import math
import os
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

from gan_core.runtime.processes import MAX_PID, process_exists
from gan_core.files import UnreadableFile, read_text

LOCK_NAME = "owner.lock"
MAX_LOCK_BYTES = 4096  # a lock file is one small JSON object; anything larger is not ours
FRESH_LOCK_S = 10.0  # an unreadable lock younger than this may be one being written right now
MAX_HOST_CHARS = 255  # POSIX HOST_NAME_MAX
MAX_LOCK_TIME = 2**32  # seconds since 1970 (the year 2106): a later "time" is no clock's

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
        if _read_owner(self.path) == self.owner:  # still ours, and still a plain file
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
            if isinstance(current, str):  # a folder, a link, fields no writer of ours writes: never removed
                raise RunLockedError(f"run directory {str(root)!r}: {current}, not a lock GAN Workbench wrote; "
                                     "remove it by hand once no process is training this run") from None
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
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(json.dumps(owner))
                file.flush()
                os.fsync(file.fileno())
        except BaseException:  # a full disk: an empty lock left here would read as "being taken" to the next try
            path.unlink(missing_ok=True)
            raise
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
    return lock_state(root)[0]


def lock_state(root: str | os.PathLike) -> tuple[str | None, str | None]:
    """(owner, problem) of root's lock: owner 'pid N on host H since T' while a live process owns root;
    problem, as plain text, when the lock is not one of ours (a folder, a link, a field out of range)."""
    owner = _read_owner(Path(root) / LOCK_NAME)
    if isinstance(owner, str):
        return None, owner
    if owner is None or _is_stale(owner):
        return None, None
    return describe_owner(owner), None


def describe_owner(owner: dict[str, Any]) -> str:
    """A lock's owner in words: pid, host and since when ('?' for a time that is not one)."""
    try:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner["time"])) if owner.get("time") else "?"
    except (OverflowError, ValueError, OSError, TypeError):
        since = "?"
    return f"pid {owner['pid']} on host {str(owner['host'])[:100]} since {since}"  # a file's text: kept short


def _read_owner(path: Path) -> dict[str, Any] | str | None:
    """The lock's vetted JSON {pid, host, time}; a str saying why it is not a lock of ours (a folder, a link,
    a device, a field no writer of ours writes); None when there is none or it does not parse (a crash
    between creating and writing it)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"{LOCK_NAME} cannot be read ({error.strerror or error})"
    if stat.S_ISDIR(info.st_mode):
        return f"{LOCK_NAME} is a folder"
    if stat.S_ISLNK(info.st_mode):
        return f"{LOCK_NAME} is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return f"{LOCK_NAME} is not a regular file"
    try:
        owner = json.loads(read_text(path, MAX_LOCK_BYTES))
    except (OSError, UnreadableFile, ValueError, RecursionError):
        return None
    return _vet_owner(owner)


def _vet_owner(owner: Any) -> dict[str, Any] | str:
    """owner when each field is what acquire_run_lock writes; else a str naming the first bad field."""
    if not isinstance(owner, dict):
        return f"{LOCK_NAME} holds no lock object"
    pid, host, stamp = owner.get("pid"), owner.get("host"), owner.get("time", 0)
    if type(pid) is not int:  # a bool is an int to isinstance
        return f"{LOCK_NAME}'s pid {str(pid)[:40]!r} is not a process id"
    if not isinstance(host, str) or not 0 < len(host) <= MAX_HOST_CHARS:
        return f"{LOCK_NAME}'s host {str(host)[:40]!r} is not a host name (1-{MAX_HOST_CHARS} characters)"
    if type(stamp) not in (int, float) or not math.isfinite(stamp) or not 0 <= stamp <= MAX_LOCK_TIME:
        return f"{LOCK_NAME}'s time {str(stamp)[:40]!r} is not a time (seconds since 1970, up to {MAX_LOCK_TIME})"
    return owner


def _is_stale(owner: dict[str, Any]) -> bool:
    """True when no process can hold the pid (0, negative, beyond pid_t), or the owner ran on this host and
    its pid no longer exists (another host: never known)."""
    if not 0 < owner["pid"] <= MAX_PID:
        return True
    if owner["host"] != socket.gethostname():
        return False
    return not process_exists(owner["pid"])


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
