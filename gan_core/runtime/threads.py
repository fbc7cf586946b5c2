"""The engine's threading policy: torch's intra-op threads fitted to the cores other processes leave free.

Why: torch's OpenMP threads spin at every barrier. On a quiet machine that is the fastest choice (passive
waits cost 0.62x, a bounded spin 0.80x, measured by benchmarks/contention_bench.py); but when another process
takes a core, a spinning thread waits for a descheduled sibling and a 2-core run falls to about 0.3x of its
quiet speed. Fewer threads than busy cores avoids that entirely. So every few seconds the policy reads how
much CPU *other* processes used on the cores this process may run on (from /proc, our own threads
subtracted) and sets torch.set_num_threads to the cores left, with hysteresis so a short blip does not flap.
One ThreadPolicy per training loop (CLI, torchrun worker, dashboard session), ticked once per step.
GAN_WORKBENCH_THREADS=off turns it off (the benchmark's baseline); a user's OMP_NUM_THREADS or
torch.set_num_threads before the policy is made is the ceiling.

The OpenMP wait itself is set by prepare_openmp() before torch loads (libgomp reads its environment once):
the CLI and torchrun workers keep libgomp's spinning waits (fastest when the cores are free, and the
policy keeps them free); the dashboard bounds the spin (GOMP_SPINCOUNT=100000), because its own server
thread and the browser share the cores with the training thread: measured there 0.85x of the CLI's
steps/s against 0.60x for passive waits and 0.71x for one thread (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

ENV_SWITCH = "GAN_WORKBENCH_THREADS"
CHECK_INTERVAL_S = 1.0
# Hysteresis in cores: drop a thread when the free cores fall half a core below the threads in use; add one
# back only when other processes leave at least 0.65 of a core more than that (a neighbour's idle blip of a
# few hundred ms must not bring the spinning thread back).
DROP_MARGIN = 0.5
RAISE_MARGIN = 0.65
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal; idle and iowait are not busy
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
DASHBOARD_SPINCOUNT = "100000"
OFF_VALUES = ("off", "0", "false")


def prepare_openmp(role: str) -> None:
    """Set OpenMP's wait policy for `role` ("cli" or "dashboard"); call before torch is imported."""
    if role not in ("cli", "dashboard"):
        raise ValueError(f"role={role!r} is invalid: allowed 'cli' or 'dashboard'")
    user_chose = "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ
    if role == "dashboard" and not user_chose and os.environ.get(ENV_SWITCH, "").lower() not in OFF_VALUES:
        os.environ["GOMP_SPINCOUNT"] = DASHBOARD_SPINCOUNT


@dataclass(frozen=True)
class ThreadChange:
    """One change of torch's thread count, with the load that caused it (for the run's events)."""

    threads: int
    previous: int
    other_cores: float  # CPU other processes used, in cores, over the last window
    cores: int  # the cores this process may run on

    def message(self) -> str:
        """One line for events.jsonl and the status."""
        text = (f"torch threads {self.previous} -> {self.threads}: other processes used "
                f"{self.other_cores:.2f} of {self.cores} cores")
        if self.threads < self.previous:  # say why, and that it is not for good
            return text + "; fewer threads than busy cores keeps training from stalling, and they come back "\
                          "when the cores are free"
        return text + ": the cores are free again"


def _allowed_cpus() -> set[int]:
    """The CPUs this process may run on (its affinity), which is what the other processes compete for."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def _busy_ticks(cpus: set[int]) -> int | None:
    """Busy jiffies summed over `cpus` from /proc/stat; None where /proc is not there."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    total = 0
    for line in lines:
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            fields = rest.split()
            total += sum(int(fields[i]) for i in _BUSY_FIELDS if i < len(fields))
    return total


def _own_ticks() -> int | None:
    """utime + stime of this whole process (all its threads) in jiffies."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


class ThreadPolicy:
    """Fits torch's intra-op thread count to the cores that other processes leave free; tick() once per step."""

    def __init__(self, interval_s: float = CHECK_INTERVAL_S, enabled: bool | None = None,
                 max_threads: int | None = None) -> None:
        """max_threads caps the count from the start (1 for models too small to gain from more: each extra
        OpenMP thread would only spin on a core the page and the browser need)."""
        import torch  # here, not at module level: prepare_openmp must run before torch loads

        self.enabled = os.environ.get(ENV_SWITCH, "").lower() not in OFF_VALUES if enabled is None else enabled
        self.cpus = _allowed_cpus()
        self.ceiling = max(1, min(torch.get_num_threads(), len(self.cpus), max_threads or len(self.cpus)))
        if self.enabled and max_threads is not None and torch.get_num_threads() > self.ceiling:
            torch.set_num_threads(self.ceiling)
        self.threads = torch.get_num_threads()
        self.interval_s = interval_s
        self._last = self._sample() if self.enabled else None

    def _sample(self) -> tuple[float, int, int] | None:
        """(monotonic time, busy ticks of our CPUs, our own ticks), or None without /proc."""
        busy, own = _busy_ticks(self.cpus), _own_ticks()
        return None if busy is None or own is None else (time.monotonic(), busy, own)

    def other_cores(self, previous: tuple[float, int, int], current: tuple[float, int, int]) -> float:
        """Cores' worth of CPU used by other processes between two samples."""
        wall = current[0] - previous[0]
        others = ((current[1] - previous[1]) - (current[2] - previous[2])) / _TICKS_PER_S
        return max(0.0, others / wall) if wall > 0 else 0.0

    def target(self, other_cores: float) -> int:
        """The thread count for this much foreign load, given the count in use now (hysteresis)."""
        free = len(self.cpus) - other_cores
        threads = self.threads
        while threads > 1 and free < threads - DROP_MARGIN:
            threads -= 1
        while threads < self.ceiling and free > threads + RAISE_MARGIN:
            threads += 1
        return threads

    def tick(self) -> ThreadChange | None:
        """Once per step: every interval, re-fit the thread count; the change made, if any."""
        if not self.enabled or self._last is None or time.monotonic() - self._last[0] < self.interval_s:
            return None
        current = self._sample()
        if current is None:
            return None
        other = self.other_cores(self._last, current)
        self._last = current
        threads = self.target(other)
        if threads == self.threads:
            return None
        change = ThreadChange(threads=threads, previous=self.threads, other_cores=other, cores=len(self.cpus))
        import torch

        torch.set_num_threads(threads)
        self.threads = threads
        return change
