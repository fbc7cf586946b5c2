"""Helper threads run torch on their own thread only, so the training thread keeps the one OpenMP pool.

Why: libgomp gives every thread that runs a parallel region its own pool of worker threads, kept for as long
as that thread lives. Once the pools hold more threads than there are cores, libgomp "throttles" every
pool, the training thread's too: its workers barely spin and sleep between the thousands of small parallel
regions of a step. Measured on 2 cores (default preset): a single 512x512 matmul on the main thread before
training on another thread took training from 34 to 20 steps/s; in the dashboard one feed worker that drew
the real-image grid once left a second pool that held training at about 0.7x of the CLI for the rest of the
run, whether a page watched or not (docs/benchmarks.md). With one OpenMP thread a helper thread never makes
a pool, and its small jobs (a grid, a model built for Start, explorer samples) take no measurable longer.

Only the calling thread's OpenMP setting changes (omp_set_num_threads through torch's own libgomp, found in
/proc/self/maps), not torch.set_num_threads, which would also change the count new threads start with and
MKL's process-wide count. Where libgomp is not found (another platform or build) these are no-ops.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from pathlib import Path
from typing import Iterator


@functools.lru_cache(maxsize=1)
def _libgomp() -> ctypes.CDLL | None:
    """Torch's libgomp, already loaded (None when torch uses another OpenMP or none)."""
    import torch

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    loaded = {line.split(maxsplit=5)[5] for line in maps.splitlines()
              if line.count(" ") >= 5 and "libgomp" in line.rsplit("/", 1)[-1]}
    torch_lib = str(Path(torch.__file__).resolve().parent / "lib")
    # Other packages may bundle their own libgomp (each with its own settings): torch's is the one that counts.
    ours = sorted(path for path in loaded if path.startswith(torch_lib)) or sorted(loaded)
    try:
        return ctypes.CDLL(ours[0]) if ours else None
    except OSError:
        return None


def _libgomp_for_this_thread() -> ctypes.CDLL | None:
    """Torch's libgomp, after torch's per-thread first-use setup (which would otherwise set the count back)."""
    gomp = _libgomp()
    if gomp is not None:
        import torch

        torch.get_num_threads()
    return gomp


def serial_torch_in_this_thread() -> None:
    """From now on, torch ops on the calling thread use it alone (for threads that do not train)."""
    gomp = _libgomp_for_this_thread()
    if gomp is not None:
        gomp.omp_set_num_threads(1)


@contextlib.contextmanager
def serial_torch() -> Iterator[None]:
    """Torch ops inside run on the calling thread alone; its OpenMP thread count is restored after."""
    gomp = _libgomp_for_this_thread()
    if gomp is None:
        yield
        return
    before = gomp.omp_get_max_threads()
    gomp.omp_set_num_threads(1)
    try:
        yield
    finally:
        gomp.omp_set_num_threads(before)
