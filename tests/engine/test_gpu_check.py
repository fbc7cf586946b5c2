"""The GPU check script's --cpu-only dry run, and the bf16 / compile switches it measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core.engine.trainer import Trainer
from tests.engine.test_trainer import LOSS_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--cpu-only",
                             "--seconds", "0.2", "--batch-sizes", "100,256", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert {(r["preset"], r["batch_size"]) for r in rows} == {
        ("seed-mlp", 100), ("seed-mlp", 256), ("dcgan", 100), ("dcgan", 256)}
    assert any(r.get("autocast_bf16") for r in rows) and all(r["steps_per_s"] > 0 for r in rows)
    assert "images/s" in result.stdout


def test_gpu_check_without_a_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--cpu-only" in result.stderr


def _rows(config, steps=3):
    trainer = Trainer(config)
    return [[row[k] for k in LOSS_COLUMNS] for row in (trainer.step() for _ in range(steps))]


def test_bf16_autocast_trains_close_to_fp32(tiny):
    fp32 = torch.tensor(_rows(tiny))
    bf16 = torch.tensor(_rows(tiny.with_changes({"training.autocast_bf16": True})))
    assert torch.isfinite(bf16).all() and not torch.equal(fp32, bf16)  # it really ran in bf16
    torch.testing.assert_close(bf16[:, :2], fp32[:, :2], rtol=0.05, atol=0.02)  # losses agree


@pytest.mark.timeout(300)
def test_compiled_step_matches_eager(tiny):
    eager = torch.tensor(_rows(tiny))
    compiled = torch.tensor(_rows(tiny.with_changes({"training.compile": True})))
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
