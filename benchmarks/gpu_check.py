"""GPU check, ready for when a GPU machine is lent: steps/s and images/s of seed-mlp and dcgan on CUDA
at batch sizes 100..4096, fp32 vs bf16 autocast vs torch.compile, with a CPU baseline from the same run.

    python benchmarks/gpu_check.py                 # on a GPU machine
    python benchmarks/gpu_check.py --cpu-only      # dry run on the CPU (CI runs this so it cannot rot)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gan_core.config.presets import preset  # noqa: E402
from gan_core.data.datasets import load_dataset  # noqa: E402
from gan_core.engine.trainer import Trainer  # noqa: E402


def measure(name: str, device: str, batch_size: int, seconds: float, dataset, **switches) -> dict:
    """Train a preset for a wall-clock budget after warm-up steps; steps/s and images/s."""
    config = preset(name).with_changes({"training.device": device, "training.batch_size": batch_size,
                                        **{f"training.{k}": v for k, v in switches.items()}})
    trainer = Trainer(config, dataset)
    for _ in range(3):  # warm-up: allocator, cuDNN autotune, compilation
        trainer.step()
    _sync(device)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or steps < 2:
        row = trainer.step()
        steps += 1
    _sync(device)
    elapsed = time.perf_counter() - started
    return {"preset": name, "device": device, "batch_size": batch_size, **switches,
            "steps_per_s": steps / elapsed, "images_per_s": steps * batch_size / elapsed,
            "finite": bool(torch.isfinite(torch.tensor(row["d_loss"])))}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    parser = argparse.ArgumentParser(description="GPU throughput check with a CPU baseline")
    parser.add_argument("--cpu-only", action="store_true", help="dry run on the CPU with short budgets")
    parser.add_argument("--seconds", type=float, default=5.0, help="budget per measurement")
    parser.add_argument("--batch-sizes", default="100,256,1024,4096")
    parser.add_argument("--presets", default="seed-mlp,dcgan")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to start)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if not args.cpu_only and not torch.cuda.is_available():
        sys.stderr.write("error: no CUDA GPU here; use --cpu-only for a dry run\n")
        return 2
    device = "cpu" if args.cpu_only else "cuda"
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    dataset = load_dataset(preset("seed-mlp").data)
    rows = []
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}")
    for name in args.presets.split(","):
        rows.append(measure(name, "cpu", 100, args.seconds, dataset))  # the CPU baseline, same run
        for batch_size in batch_sizes:
            rows.append(measure(name, device, batch_size, args.seconds, dataset))
        variants = [{"autocast_bf16": True}] + ([{"compile": True}, {"compile": True, "autocast_bf16": True}]
                                               if args.compile else [])
        for switches in variants:
            rows.append(measure(name, device, batch_sizes[-1], args.seconds, dataset, **switches))
    print(f"{'preset':<9} {'device':<6} {'batch':>6} {'switches':<24} {'steps/s':>9} {'images/s':>11}")
    for row in rows:
        switches = ",".join(k for k in ("autocast_bf16", "compile") if row.get(k)) or "fp32 eager"
        print(f"{row['preset']:<9} {row['device']:<6} {row['batch_size']:>6} {switches:<24} "
              f"{row['steps_per_s']:>9.1f} {row['images_per_s']:>11.0f}{'' if row['finite'] else '  NON-FINITE'}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if all(row["finite"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
