"""torchrun --nproc_per_node=2 on the CPU (gloo): weights stay identical, DDP equals one process with 2b."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core.engine.trainer import Trainer, noise_seed
from gan_core.runs.lock import run_owner
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events
from tests.support.configs import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # torchrun starts processes
ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _torchrun(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([*TORCHRUN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "mlp.pt"
    _torchrun(str(ROOT / "tests" / "support" / "ddp_worker.py"), str(out), "6", "mlp")
    return torch.load(out, weights_only=True)


def test_ranks_hold_identical_weights_after_every_step(mlp_run):
    assert len(mlp_run["differences"]) == 12 and max(mlp_run["differences"]) == 0.0
    rank0, rank1 = mlp_run["d_fake_by_rank"]
    assert rank0 != rank1  # each rank drew its own noise and its own shard of the batch


def test_ranks_stay_identical_with_batch_norm_in_d(tmp_path):
    out = tmp_path / "dcgan.pt"
    _torchrun(str(ROOT / "tests" / "support" / "ddp_worker.py"), str(out), "3", "dcgan")
    assert max(torch.load(out, weights_only=True)["differences"]) == 0.0
    # Teardown (issue #10 item 13): DDP modules sit in reference cycles; none may be left for the
    # interpreter's shutdown to free after the process group is gone (that aborted rank 1 once).
    assert [(tmp_path / f"dcgan.rank{rank}.ddp_alive").read_text() for rank in (0, 1)] == ["0", "0"]


def test_ranks_fit_the_same_clusters_and_stay_identical_when_self_conditioned(tmp_path):
    out = tmp_path / "clusters.pt"
    _torchrun(str(ROOT / "tests" / "support" / "ddp_worker.py"), str(out), "3", "clusters")
    result = torch.load(out, weights_only=True)
    assert max(result["differences"]) == 0.0
    rank0, rank1 = result["clusters_by_rank"]
    assert rank0 == rank1 and len(set(rank0)) == 8 and len(rank0) == 400


def test_two_ranks_of_batch_b_equal_one_process_of_batch_2b(mlp_run):
    config = tiny_config(batch_size=16)
    single = Trainer(config)
    # The 2b batch holds rank 0's images then rank 1's (one shared order); give it the ranks' noise too.
    streams = [torch.Generator().manual_seed(noise_seed(config.training.seed, rank)) for rank in (0, 1)]
    single.sample_noise = lambda count: torch.cat(
        [torch.randn(count // 2, config.model.latent_dim, generator=g) for g in streams])
    for _ in range(6):
        single.step()
    for name in ("generator", "discriminator"):
        expected = getattr(single, name).state_dict()
        for key, tensor in mlp_run[name].items():
            torch.testing.assert_close(tensor, expected[key], rtol=1e-4, atol=1e-5, msg=f"{name}.{key}")


def test_cli_under_torchrun_writes_one_run_directory_once(tmp_path):
    runs = tmp_path / "runs"
    _torchrun("-m", "gan_core", "train", "--preset", "seed-mlp", "--set", "data.limit=400",
              "--set", "model.hidden_dim=16", "--set", "batch_size=16", "--set", "device=cpu",
              "--set", "checkpoint_every=10", "--steps", "20", "--runs-root", str(runs), "--quiet")
    (run_dir,) = list(runs.iterdir())
    paths = RunPaths(run_dir)
    kinds = [e["kind"] for e in read_events(paths.events)]
    assert kinds.count("start") == 1 and kinds.count("finish") == 1
    assert read_metrics(paths.metrics)["step"].tolist() == list(range(1, 21))
    assert run_owner(run_dir) is None and not (run_dir / "owner.lock").exists()  # rank 0 released it
    # Resume under DDP continues from latest.pt.
    _torchrun("-m", "gan_core", "train", "--resume", str(run_dir), "--steps", "30", "--quiet")
    assert read_metrics(paths.metrics)["step"].tolist() == list(range(1, 31))
    assert [e["step"] for e in read_events(paths.events) if e["kind"] == "resume"] == [20]
