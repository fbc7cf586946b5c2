import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gan_core.cli.main import main
from gan_core.runs.checkpoint import load_checkpoint
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events
from tests.support.configs import TINY_CLI_ARGS


def _cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exit_:  # argparse's own errors
        return int(exit_.code)


@pytest.mark.parametrize("args,needle", [
    (["train", "--preset", "nope"], "invalid choice"),
    (["train", "--set", "optimizer.lr_g=abc"], "optimizer.lr_g"),
    (["train", "--set", "colour=red"], "unknown config field 'colour'"),
    (["train", "--set", "batch_size=0"], "training.batch_size=0"),
    (["train", "--set", "lr_g"], "FIELD=VALUE"),
    (["train", "--steps", "0"], "--steps=0"),
    (["train", "--dataset", "folder", "--set", "data.path=/nonexistent/x"], "does not exist"),
    (["train", "--resume", "/nonexistent/run"], "does not exist"),
    (["sample", "--checkpoint", "/nonexistent.pt", "--out", "x.npy"], "does not exist"),
    (["sample", "--checkpoint", "c.pt", "--out", "x.jpg"], "--out='x.jpg'"),
    (["interpolate", "--checkpoint", "c.pt", "--from-seed", "1", "--to-seed", "2", "--steps", "1",
      "--out", "s.png"], "--steps=1"),
    (["bench", "nope"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _cli(*args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_train_sample_interpolate(tmp_path, capsys):
    run = tmp_path / "R"
    assert _cli("train", *TINY_CLI_ARGS, "--steps", "30", "--run-dir", str(run)) == 0
    paths = RunPaths(run)
    assert paths.config.exists() and paths.events.exists() and paths.latest.exists()
    frame = read_metrics(paths.metrics)
    assert frame["step"].tolist() == list(range(1, 31))
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_fake_after", "images_per_s"} <= set(frame.columns)
    assert _cli("sample", "--checkpoint", str(paths.latest), "--n", "100", "--out", str(tmp_path / "s.npy")) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (100, 1, 28, 28) and samples.dtype == np.float32
    assert samples.min() >= -1 and samples.max() <= 1
    assert _cli("interpolate", "--checkpoint", str(paths.latest), "--from-seed", "1", "--to-seed", "2",
                "--steps", "7", "--method", "lerp", "--out", str(tmp_path / "strip.png")) == 0
    with Image.open(tmp_path / "strip.png") as strip:
        assert strip.size == (7 * 30 + 2, 32)  # 7 tiles of 28 px with 2 px padding
    # A resumed run refuses config changes instead of silently ignoring them.
    assert _cli("train", "--resume", str(run), "--set", "lr_g=1") == 2


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(tmp_path):
    run = tmp_path / "R"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, "--set", "training.checkpoint_every=25",
               "--steps", "1000000", "--run-dir", str(run)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    paths = RunPaths(run)
    deadline = time.monotonic() + 120
    try:
        # Wait for at least two checkpoints, so the kill lands mid-run after one.
        while time.monotonic() < deadline:
            if paths.latest.exists() and load_checkpoint(paths.latest)["step"] >= 50:
                break
            time.sleep(0.05)
        else:
            pytest.fail("trainer wrote no checkpoint in time: " + process.stderr.read1().decode())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    checkpoint_step = load_checkpoint(paths.latest)["step"]
    assert checkpoint_step % 25 == 0
    before = read_metrics(paths.metrics)  # reads cleanly even if the kill cut a row
    assert before["step"].tolist() == list(range(1, len(before) + 1))
    target = checkpoint_step + 30
    result = subprocess.run([sys.executable, "-m", "gan_core", "train", "--resume", str(run), "--steps",
                             str(target), "--quiet"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    resumes = [e for e in read_events(paths.events) if e["kind"] == "resume"]
    assert [e["step"] for e in resumes] == [checkpoint_step]
    after = read_metrics(paths.metrics)
    assert after["step"].tolist() == list(range(1, target + 1))
    assert load_checkpoint(paths.latest)["step"] == target
