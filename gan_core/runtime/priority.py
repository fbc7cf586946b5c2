"""The page's own threads yield the CPU to training: a process-wide split of Linux thread priorities.

Why: the dashboard trains in its server's process, and on a 2-core machine the server's threads (Tornado's
loop, the script runs behind each live refresh) take turns on the cores that torch's OpenMP threads spin on.
Linux keeps a nice value per thread, inherited by the threads it creates, and a process may raise its own
threads' nice values but not lower them again. So: one launcher thread is made first, at the priority the
process started with; then every other thread (the server's, including its main thread, whose children are
the later script runs) is lowered. Training threads are started by the launcher, so they and the OpenMP
workers they create keep the starting priority. Elsewhere (the CLI, tests) nothing is lowered and
start_thread simply starts the thread. GAN_WORKBENCH_PAGE_NICE=0 turns it off.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

ENV_NICE = "GAN_WORKBENCH_PAGE_NICE"
# 5, not more: a page thread that holds the GIL and waits long for a core would stall training in turn.
# Measured in alternating rounds (benchmarks/dashboard_bench.py, docs/benchmarks.md): 0.86x -> 0.92x and
# 0.79x -> 0.85x of the CLI's steps/s.
DEFAULT_PAGE_NICE = 5
_lock = threading.Lock()
_launcher: "_Launcher | None" = None


class _Launcher:
    """One long-lived thread that starts other threads, so they inherit its (unlowered) priority."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="gan-launcher", daemon=True)
        self.thread.start()
        self.native_id = self.thread.native_id  # set before start() returns

    def _serve(self) -> None:
        while True:
            thread, started = self._requests.get()
            try:
                thread.start()
            finally:
                started.set()

    def start(self, thread: threading.Thread) -> None:
        """Start `thread` from the launcher and return once it is started."""
        started = threading.Event()
        self._requests.put((thread, started))
        started.wait()


def start_thread(thread: threading.Thread) -> None:
    """Start a training thread at the process's starting priority (from the launcher once the page's threads
    were lowered; directly otherwise)."""
    launcher = _launcher
    if launcher is None:
        thread.start()
    else:
        launcher.start(thread)


def lower_page_threads(nice: int) -> int:
    """Once per process: make the launcher, then raise every other thread's nice value by `nice` (Linux only).
    Returns how many threads were lowered; 0 when already done, when nice is 0, or where it is not possible."""
    global _launcher
    if nice <= 0 or not hasattr(os, "setpriority") or not Path("/proc/self/task").is_dir():
        return 0
    with _lock:
        if _launcher is not None:
            return 0
        _launcher = _Launcher()
        lowered = 0
        for task in Path("/proc/self/task").iterdir():
            tid = int(task.name)
            if tid == _launcher.native_id:
                continue
            try:
                os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
                lowered += 1
            except OSError:  # a thread that ended meanwhile, or a sandbox that forbids it
                continue
        return lowered


def page_nice_from_env(environ: dict[str, str] | None = None) -> int:
    """The nice increment for the page's threads: GAN_WORKBENCH_PAGE_NICE (0 turns it off) or the default."""
    value = (environ if environ is not None else os.environ).get(ENV_NICE)
    if value is None:
        return DEFAULT_PAGE_NICE
    return int(value) if value.isdigit() and int(value) <= 19 else 0
