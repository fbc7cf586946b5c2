"""The GPU check script's --cpu-only dry run, and the bf16 / compile switches it measures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core.engine.trainer import Trainer
from tests.support.configs import LOSS_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _gpu_check():
    """benchmarks/gpu_check.py as a module (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Clock:
    """A perf_counter that moves only when a step runs, by that step's duration."""

    def __init__(self, durations: list[float]) -> None:
        self.now, self.durations = 100.0, iter(durations)

    def perf_counter(self) -> float:
        return self.now


def test_measure_reports_timed_steps_only_and_images_as_steps_times_batch(monkeypatch):
    gpu_check = _gpu_check()
    clock = _Clock([2.0] * 3 + [0.25] * 4)  # warm-up steps are slow (autotune, compilation); timed ones 0.25 s
    built, losses = [], iter([1.0] * 6 + [float("nan")])

    class CountingTrainer:
        """Stands in for Trainer: records its config, counts steps, moves the clock."""

        def __init__(self, config, dataset) -> None:
            built.append(config)
            self.steps = 0

        def step(self) -> dict[str, float]:
            self.steps += 1
            clock.now += next(clock.durations)
            return {"d_loss": next(losses)}

    monkeypatch.setattr(gpu_check, "Trainer", CountingTrainer)
    monkeypatch.setattr(gpu_check, "time", clock)
    row = gpu_check.measure("seed-mlp", "cpu", 64, 1.0, None, autocast_bf16=True)
    # 3 warm-up steps are neither timed nor counted; then 4 steps of 0.25 s fill the 1 s budget: 4 steps/s,
    # 4 * 64 images/s; the last step's loss decides `finite`.
    assert row == {"preset": "seed-mlp", "device": "cpu", "batch_size": 64, "autocast_bf16": True,
                   "steps_per_s": 4.0, "images_per_s": 256.0, "finite": False}  # the last row's loss was NaN
    (config,) = built
    assert (config.training.batch_size, config.training.device, config.training.autocast_bf16) == (64, "cpu", True)
    assert config.model.architecture == "mlp"  # seed-mlp's own model, not the default preset's


@pytest.mark.slow
def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--cpu-only",
                             "--seconds", "0.2", "--batch-sizes", "100,256", "--json", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    # Per preset: the CPU baseline at batch 100, each batch size, then bf16 autocast at the largest.
    assert [(r["preset"], r["device"], r["batch_size"], r.get("autocast_bf16", False)) for r in rows] == [
        (name, "cpu", batch, bf16) for name in ("seed-mlp", "dcgan")
        for batch, bf16 in ((100, False), (100, False), (256, False), (256, True))]
    for r in rows:
        assert r["finite"] is True and r["steps_per_s"] > 0
        assert r["images_per_s"] == pytest.approx(r["steps_per_s"] * r["batch_size"])
    table = [line.split() for line in result.stdout.splitlines()[2:]]  # after the torch line and the header
    assert [(line[0], line[1], int(line[2]), float(line[-2]), float(line[-1])) for line in table] == [
        (r["preset"], r["device"], r["batch_size"], round(r["steps_per_s"], 1), round(r["images_per_s"]))
        for r in rows]


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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_compiled_step_matches_eager(tiny):
    eager = torch.tensor(_rows(tiny))
    compiled = torch.tensor(_rows(tiny.with_changes({"training.compile": True})))
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
