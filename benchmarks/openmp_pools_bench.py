"""Why helper threads run torch serially: training speed on a thread after another thread made an OpenMP pool.

Each side is a fresh process (libgomp's pools last as long as their threads): it imports torch, lets the main
thread run one 512x512 matmul (or not), then trains the preset on a second thread for --seconds and prints
steps/s. Sides, in alternating rounds:
  import only   the main thread never runs a parallel region (the CLI's case: it trains on the main thread)
  main matmul   the main thread runs the matmul with its OpenMP threads: a second pool exists while training
  main serial   the same matmul inside gan_core.runtime.serial_torch.serial_torch() (what the dashboard now does)
Usage: .venv/bin/python benchmarks/openmp_pools_bench.py [--seconds 20] [--rounds 3] [--preset default]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SIDE = r"""
import sys, threading, time
sys.path.insert(0, {root!r})
from gan_core.runtime.threads import prepare_openmp
prepare_openmp("cli")
import torch
from gan_core.config.presets import preset
from gan_core.data.datasets import load_dataset
from gan_core.runtime.serial_torch import serial_torch
from gan_core.engine.trainer import Trainer

side, seconds, name = {side!r}, {seconds!r}, {preset!r}
if side == "main matmul":
    torch.randn(512, 512) @ torch.randn(512, 512)
elif side == "main serial":
    with serial_torch():
        torch.randn(512, 512) @ torch.randn(512, 512)
rate = []

def train():
    config = preset(name)
    trainer = Trainer(config, load_dataset(config.data))
    for _ in range(10):
        trainer.step()
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        trainer.step()
        steps += 1
    rate.append(steps / (time.perf_counter() - started))

thread = threading.Thread(target=train)
thread.start()
thread.join()
print(rate[0])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    sides = ("import only", "main matmul", "main serial")
    rates: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side in sides:
            code = SIDE.format(root=str(ROOT), side=side, seconds=args.seconds, preset=args.preset)
            output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    cwd=ROOT).stdout
            rates[side].append(float(output.strip().splitlines()[-1]))
    baseline = statistics.median(rates["import only"])
    print(f"OpenMP pools: preset {args.preset}, training on a second thread, {args.rounds} alternating rounds "
          f"of {args.seconds:.0f} s")
    for side in sides:
        median = statistics.median(rates[side])
        print(f"{side:<12} median {median:6.1f} steps/s ({', '.join(f'{r:.1f}' for r in rates[side])}); "
              f"ratio to import only {median / baseline:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
