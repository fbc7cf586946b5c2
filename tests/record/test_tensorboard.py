"""TensorBoard event files in the run directory: read back with TensorBoard's own EventAccumulator, they hold
exactly metrics.csv's steps and values and the saved grids, after a kill and a resume (no step twice, none
lost), and `export-tensorboard` writes the same for a run recorded without them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gan_core.cli.main import main as cli
from gan_core.columns import METRIC_NAMES
from gan_core.record.tensorboard import GRID_TAG, QUALITY_PREFIX, SCALAR_PREFIX
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events, sample_grids

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--preset", "toy-ring", "--set", "training.batch_size=32", "--set", "model.hidden_dim=16",
        "--set", "training.sample_every=10", "--set", "training.checkpoint_every=10",
        "--set", "training.eval_every=10", "--set", "training.device=cpu", "--quiet"]


def accumulated(run: Path):
    """The run's event files as TensorBoard reads them (every value kept, orphaned data purged)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def assert_matches_metrics(run: Path) -> None:
    """Every metrics.csv column (but step and wall time) is a scalar with the same steps and values."""
    metrics = read_metrics(RunPaths(run).metrics)
    accumulator = accumulated(run)
    for name in METRIC_NAMES:
        if name in ("step", "wall_time"):
            continue
        events = accumulator.Scalars(SCALAR_PREFIX + name)
        assert [e.step for e in events] == metrics["step"].astype(int).tolist(), name
        np.testing.assert_allclose([e.value for e in events], metrics[name].to_numpy(np.float32), rtol=1e-6,
                                   err_msg=name)


def assert_matches_grids(run: Path) -> None:
    """One image per saved grid, at its step, with the same pixels."""
    accumulator = accumulated(run)
    images = {e.step: e for e in accumulator.Images(GRID_TAG)}
    saved = sample_grids(RunPaths(run))
    assert sorted(images) == [step for step, _ in saved]
    for step, path in saved:
        with Image.open(path) as on_disk:
            expected = np.asarray(on_disk)
        import io

        with Image.open(io.BytesIO(images[step].encoded_image_string)) as logged:
            assert np.array_equal(np.asarray(logged), expected), step


def test_a_run_writes_its_metrics_grids_quality_and_config(tmp_path):
    run = tmp_path / "run"
    assert cli(["train", *TINY, "--steps", "30", "--run-dir", str(run)]) == 0
    assert list(run.glob("events.out.tfevents.*"))
    assert_matches_metrics(run)
    assert_matches_grids(run)
    accumulator = accumulated(run)
    quality = pd.read_csv(RunPaths(run).quality)
    js = accumulator.Scalars(QUALITY_PREFIX + "js")
    assert [e.step for e in js] == quality["step"].tolist()
    np.testing.assert_allclose([e.value for e in js], quality["js"].to_numpy(np.float32), rtol=1e-6)
    config_text = accumulator.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert json.loads(config_text.split("```json\n")[1].split("\n```")[0])["data"]["name"] == "ring8"


def test_a_kill_and_a_resume_show_each_step_once(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "gan_core", "train", *TINY, "--steps", "100000",
                                "--run-dir", str(run)], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # past a few checkpoints
            if RunPaths(run).metrics.exists() and len(read_metrics(RunPaths(run).metrics)) >= 25:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    killed_at = len(read_metrics(RunPaths(run).metrics))
    assert killed_at >= 25
    target = killed_at + 15
    assert cli(["train", "--resume", str(run), "--steps", str(target), "--quiet"]) == 0
    metrics = read_metrics(RunPaths(run).metrics)
    assert metrics["step"].astype(int).tolist() == list(range(1, target + 1))  # metrics.csv was cut back too
    assert len(list(run.glob("events.out.tfevents.*"))) == 2
    assert_matches_metrics(run)
    assert_matches_grids(run)


def test_tensorboard_off_writes_no_event_files(tmp_path):
    run = tmp_path / "run"
    assert cli(["train", *TINY, "--steps", "5", "--set", "training.tensorboard=false", "--run-dir", str(run)]) == 0
    assert not list(run.glob("events.out.tfevents.*"))


def test_export_writes_the_same_for_a_run_recorded_without_events(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", *TINY, "--steps", "20", "--set", "training.tensorboard=false", "--run-dir", str(run)]) == 0
    assert cli(["export-tensorboard", str(run)]) == 0
    assert "20 metric rows" in capsys.readouterr().out
    assert_matches_metrics(run)
    assert_matches_grids(run)
    assert cli(["export-tensorboard", str(run)]) == 0  # again: the new file replaces what the first showed
    assert_matches_metrics(run)


def test_export_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert cli(["export-tensorboard", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().endswith("is not a run directory: it has no config.json")


def test_live_changes_and_health_warnings_are_text(tmp_path):
    from gan_core.control.session import TrainingSession
    from gan_core.config.presets import toy_preset

    session = TrainingSession(runs_root=tmp_path)
    try:
        run = session.start(toy_preset("ring8").with_changes({"training.device": "cpu", "training.eval_every": 0}),
                            paused=True)
        assert session.wait_for(lambda s: s.status == "paused", 60)
        session.step(3)
        assert session.wait_for(lambda s: s.snapshot().step == 3 and s.snapshot().steps_pending == 0, 60)
        session.update({"optimizer.lr_g": 0.002})
        session.step(1)
        assert session.wait_for(lambda s: s.snapshot().step == 4 and s.snapshot().steps_pending == 0, 60)
    finally:
        session.shutdown()
    update = [e for e in read_events(RunPaths(run).events) if e["kind"] == "update"][0]
    texts = accumulated(run).Tensors("events/live_changes/text_summary")
    assert [t.step for t in texts] == [update["step"]]
    assert texts[0].tensor_proto.string_val[0].decode() == "optimizer.lr_g: 0.001 -> 0.002"


def test_steps_written_after_the_last_checkpoint_are_purged_on_resume(tmp_path):
    """The event file already holds steps past the checkpoint (flushed on its timer before a kill): the resumed
    run's file purges them, so TensorBoard shows the retrained values once."""
    from gan_core.config.presets import toy_preset
    from gan_core.engine.trainer import Trainer
    from gan_core.record.opening import create_run_dir, open_run_for_resume
    from gan_core.record.recorder import RunRecorder

    config = toy_preset("ring8").with_changes({"training.device": "cpu", "training.eval_every": 0,
                                               "training.checkpoint_every": 10, "training.sample_every": 10})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, tmp_path, tmp_path / "run"))
    for _ in range(27):
        recorder.record(trainer.step())
    recorder.tensorboard.flush()  # steps 21..27 reach the file, as TensorBoard's timer would
    recorder.close()  # killed: no last checkpoint
    trainer, paths = open_run_for_resume(tmp_path / "run")
    assert trainer.step_count == 20
    recorder = RunRecorder(trainer, paths)
    for _ in range(10):
        recorder.record(trainer.step())
    recorder.finish("finish")
    assert read_metrics(paths.metrics)["step"].astype(int).tolist() == list(range(1, 31))
    assert_matches_metrics(paths.root)
    assert_matches_grids(paths.root)
