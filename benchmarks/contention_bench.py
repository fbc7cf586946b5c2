"""Training speed beside a busy neighbour: CLI steps/s quiet and with one core kept busy by another process,
for the engine's threading policy and for the settings it replaced, in alternating rounds.

steps/s = steps / (stop event time - start event time) from each run's own events.jsonl, so start-up is left
out. Each variant is an environment for `python -m gan_core train`; the neighbour is a CPU-bound Python loop
started before the run and killed after it. Rounds alternate over every (variant, quiet/busy) pair; the
figure is the median over rounds.
Usage: .venv/bin/python benchmarks/contention_bench.py [--seconds 20] [--rounds 3] [--preset default]
                                                       [--variants policy,spin,passive,one-thread] [--states quiet,busy]
   or: .venv/bin/python -m gan_core bench contention [--round-seconds 20] [--rounds 5]   (policy vs spin)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gan_core.runs.paths import RunPaths, read_events  # noqa: E402

# Each variant: the environment it adds to the CLI's. GAN_WORKBENCH_THREADS=off turns the engine's policy
# off, so "spin" is the CLI as it was before the policy (libgomp's default spinning waits, all cores).
VARIANTS: dict[str, dict[str, str]] = {
    "policy": {},
    "spin": {"GAN_WORKBENCH_THREADS": "off"},
    "passive": {"GAN_WORKBENCH_THREADS": "off", "OMP_WAIT_POLICY": "PASSIVE"},
    "spincount": {"GAN_WORKBENCH_THREADS": "off", "GOMP_SPINCOUNT": "100000"},
    "one-thread": {"GAN_WORKBENCH_THREADS": "off", "OMP_NUM_THREADS": "1"},
    "one-thread-passive": {"GAN_WORKBENCH_THREADS": "off", "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
}
NEIGHBOUR = "while True:\n    pass\n"


def rate(run_dir: Path) -> tuple[float, int]:
    """(steps per wall second between the run's start and its stop/finish event, thread changes made)."""
    events = read_events(RunPaths(run_dir).events)
    start = next(e for e in events if e["kind"] in ("start", "resume"))
    end = next(e for e in reversed(events) if e["kind"] in ("finish", "stop"))
    changes = sum(e["kind"] == "threads" for e in events)
    return (end["step"] - start["step"]) / (end["time"] - start["time"]), changes


def train_round(variant: str, busy: bool, preset: str, seconds: float, runs_root: Path) -> tuple[float, int]:
    """One CLI run of `seconds` under `variant`, beside a busy neighbour if `busy`: steps/s, thread changes."""
    run_dir = runs_root / f"{variant}-{'busy' if busy else 'quiet'}-{time.monotonic_ns()}"
    env = {**os.environ, **VARIANTS[variant]}
    neighbour = subprocess.Popen([sys.executable, "-c", NEIGHBOUR]) if busy else None
    try:
        subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--seconds", str(seconds),
                        "--run-dir", str(run_dir), "--quiet"], check=True, cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL)
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    return rate(run_dir)


def measure(seconds: float, rounds: int, preset: str, variants: list[str],
            states: tuple[bool, ...] = (False, True)) -> int:
    """Alternate every (variant, quiet/busy) pair for `rounds` rounds and print the medians and ratios."""
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        print(f"error: --variants has {', '.join(unknown)}: allowed {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    if rounds < 1 or not seconds > 0:
        print(f"error: --rounds={rounds} and --seconds={seconds} are invalid: allowed rounds >= 1, seconds > 0",
              file=sys.stderr)
        return 2
    print(f"contention bench: preset {preset}, {rounds} alternating rounds of {seconds:.0f} s, "
          f"{os.cpu_count()} cores", flush=True)
    rates: dict[tuple[str, bool], list[float]] = {(v, b): [] for v in variants for b in states}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(rounds):
            for variant in variants:
                for busy in states:
                    value, changes = train_round(variant, busy, preset, seconds, Path(tmp))
                    rates[(variant, busy)].append(value)
                    print(f"  round {round_index + 1} {variant:>18} {'busy' if busy else 'quiet':>5}: "
                          f"{value:6.1f} steps/s, {changes} thread changes", flush=True)
    print(f"\n{'variant':>18} {'quiet':>8} {'busy':>8} {'busy/quiet':>10}   (steps/s, median of {rounds})")
    median = lambda variant, busy: statistics.median(rates[(variant, busy)]) if rates.get((variant, busy)) \
        else float("nan")  # noqa: E731
    for variant in variants:
        quiet, busy = median(variant, False), median(variant, True)
        print(f"{variant:>18} {quiet:8.1f} {busy:8.1f} {busy / quiet:10.2f}")
    if "spin" in variants and False in states:
        base = statistics.median(rates[("spin", False)])
        print("\nquiet steps/s vs spin (the CLI before the policy): "
              + ", ".join(f"{v} {statistics.median(rates[(v, False)]) / base:.2f}x" for v in variants))
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry for `python -m gan_core bench contention` (its --round-seconds, --rounds, --preset)."""
    return measure(args.round_seconds, args.rounds, args.preset, ["policy", "spin"])


def main() -> int:
    """Command line of this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--variants", default="policy,spin,passive,one-thread")
    parser.add_argument("--states", default="quiet,busy", help="quiet, busy or both (comma-separated)")
    args = parser.parse_args()
    states = tuple(dict.fromkeys({"quiet": False, "busy": True}[s] for s in args.states.split(",")
                                 if s in ("quiet", "busy")))
    if not states:
        print(f"error: --states={args.states!r} is invalid: allowed quiet, busy or both", file=sys.stderr)
        return 2
    return measure(args.seconds, args.rounds, args.preset, args.variants.split(","), states)


if __name__ == "__main__":
    sys.exit(main())
