"""What writing TensorBoard event files costs the CLI: alternating rounds of `python -m gan_core train` with
training.tensorboard on and off, steps/s from each run's own metrics.csv (wall time of its rows, so start-up
is left out), medians printed side by side.

Usage: .venv/bin/python benchmarks/tensorboard_bench.py [--presets default,toy-ring] [--rounds 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from gan_core.runs.metrics import read_metrics  # noqa: E402
from gan_core.runs.paths import RunPaths  # noqa: E402

SKIP_S = 3.0  # the first seconds of a run (warm-up, k-means, first grid) are not counted


def steps_per_s(run: Path) -> float:
    """Steps per second of wall time over the run's rows after its first SKIP_S seconds."""
    metrics = read_metrics(RunPaths(run).metrics)
    wall = metrics["wall_time"].to_numpy()
    kept = metrics[wall >= wall[0] + SKIP_S]
    span = float(kept["wall_time"].iloc[-1] - kept["wall_time"].iloc[0])
    return (len(kept) - 1) / span


def one_run(preset: str, tensorboard: bool, seconds: float, folder: Path) -> float:
    """A CLI run of `seconds`, TensorBoard on or off; its steps/s."""
    run = folder / f"{preset}-{'on' if tensorboard else 'off'}-{len(list(folder.iterdir()))}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--seconds", str(seconds),
                    "--set", f"training.tensorboard={str(tensorboard).lower()}", "--set", "training.eval_every=0",
                    "--run-dir", str(run), "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return steps_per_s(run)


def main(argv: list[str] | None = None) -> int:
    """Alternate on/off rounds per preset and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="default,toy-ring")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        for preset in args.presets.split(","):
            figures: dict[bool, list[float]] = {True: [], False: []}
            for index in range(args.rounds):
                order = (False, True) if index % 2 == 0 else (True, False)  # alternate which goes first
                for tensorboard in order:
                    figures[tensorboard].append(one_run(preset, tensorboard, args.seconds, Path(folder)))
            off, on = statistics.median(figures[False]), statistics.median(figures[True])
            print(f"{preset:10s} tensorboard off {off:8.1f} steps/s  on {on:8.1f} steps/s  on/off {on / off:.3f}  "
                  f"(rounds off {', '.join(f'{v:.1f}' for v in figures[False])}; "
                  f"on {', '.join(f'{v:.1f}' for v in figures[True])})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
