"""Real runs made for tests and benchmarks: a tiny run trained through the CLI, and a long run that claims
many steps (real weights, synthetic metric rows) for the pages that must draw them all."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import torch

from gan_core.columns import METRIC_NAMES
from gan_core.runs.checkpoint import save_checkpoint
from tests.support.configs import TINY_CLI_ARGS


def train_tiny_run(run_dir: Path, *settings: str, steps: int = 3) -> Path:
    """A tiny run of `steps` steps through the CLI (each setting a `--set FIELD=VALUE`); returns its latest.pt."""
    args = [arg for setting in settings for arg in ("--set", setting)]
    subprocess.run([sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, *args, "--steps", str(steps),
                    "--run-dir", str(run_dir)], check=True, stdout=subprocess.DEVNULL)
    return run_dir / "checkpoints" / "latest.pt"


def make_long_run(runs_root: Path, steps: int = 100_000, cli_args: list[str] | None = None) -> Path:
    """A real run (tiny unless cli_args say otherwise) whose checkpoint and metrics.csv claim `steps`
    steps: synthetic rows, real weights."""
    run_dir = runs_root / "long-run"
    subprocess.run([sys.executable, "-m", "gan_core", "train", *(cli_args or TINY_CLI_ARGS), "--steps", "5",
                    "--run-dir", str(run_dir)],
                   check=True, stdout=subprocess.DEVNULL)
    state = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    state["step"] = steps
    (run_dir / "checkpoints" / "latest.pt").unlink()
    save_checkpoint(state, run_dir / "checkpoints" / "latest.pt")
    now = time.time() - steps * 0.02
    with open(run_dir / "metrics.csv", "w", encoding="utf-8") as file:
        file.write(",".join(METRIC_NAMES) + "\n")
        for step in range(1, steps + 1):
            wave = math.sin(step / 500.0)
            values = {"step": step, "epoch": step // 100, "time_s": step * 0.02, "d_loss": 1.2 + 0.3 * wave,
                      "g_loss": 1.0 - 0.3 * wave, "d_real": 0.6, "d_fake": 0.4, "d_fake_after": 0.4,
                      "grad_norm_d": 1.0 + abs(wave), "grad_norm_g": 0.5, "lr_d": 2e-4, "lr_g": 2e-4,
                      "images_per_s": 1000.0, "wall_time": round(now + step * 0.02, 3),
                      "overfit_r": 0.2 * wave, "augment_p": 0.0, "d_fake_std": 0.05}
            file.write(",".join(str(values[name]) for name in METRIC_NAMES) + "\n")
    return run_dir
