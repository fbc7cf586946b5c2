import json

import pandas as pd
import pytest

from gan_core.columns import METRIC_NAMES
from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir, open_run_for_resume
from gan_core.record.recorder import RunRecorder
from gan_core.runs.listing import list_runs
from gan_core.runs.metrics import MetricsWriter, cut_table, read_metrics
from gan_core.runs.paths import RunPaths, list_checkpoints, read_events


def test_create_run_dir_layout(tiny, tmp_path):
    paths = create_run_dir(tiny, runs_root=tmp_path)
    assert paths.root.parent == tmp_path and paths.root.name.endswith("-tiny")
    assert paths.checkpoints.is_dir() and paths.samples.is_dir()
    assert json.loads(paths.config.read_text())["name"] == "tiny"
    second = create_run_dir(tiny, runs_root=tmp_path)
    assert second.root != paths.root
    with pytest.raises(ValueError, match="not empty"):
        create_run_dir(tiny, run_dir=paths.root)


def test_recorder_writes_metrics_grids_checkpoints(tiny, tmp_path):
    trainer = Trainer(tiny)
    recorder = RunRecorder(trainer, create_run_dir(tiny, run_dir=tmp_path / "r"), keep_checkpoints=2)
    for _ in range(30):
        assert recorder.record(trainer.step())
    recorder.close()
    paths = recorder.paths
    frame = read_metrics(paths.metrics)
    assert list(frame.columns) == list(METRIC_NAMES) and frame["step"].tolist() == list(range(1, 31))
    assert [p.name for p in list_checkpoints(paths)] == ["step_0000020.pt", "step_0000030.pt"]
    assert paths.latest.samefile(paths.step_checkpoint(30))
    assert sorted(p.name for p in paths.samples.iterdir())[-1] == "step_0000030.png"
    assert [e["step"] for e in read_events(paths.events) if e["kind"] == "checkpoint"] == [10, 20, 30]


def test_recorder_reports_non_finite_rows_and_keeps_checkpoint(tiny, tmp_path):
    trainer = Trainer(tiny)
    recorder = RunRecorder(trainer, create_run_dir(tiny, run_dir=tmp_path / "r"))
    row = trainer.step()
    assert recorder.record({**row, "d_loss": float("nan")}) is False
    assert not recorder.paths.latest.exists()


def test_read_metrics_tolerates_a_partial_last_line(tmp_path):
    writer = MetricsWriter(tmp_path / "m.csv", columns=("step", "d_loss"))
    writer.append({"step": 1, "d_loss": 0.5})
    writer.append({"step": 2, "d_loss": 0.25})
    writer.close()
    with open(tmp_path / "m.csv", "a") as file:
        file.write("3,0.1")  # a crash mid-row: no newline
    frame = read_metrics(tmp_path / "m.csv")
    pd.testing.assert_frame_equal(frame, pd.DataFrame({"step": [1, 2], "d_loss": [0.5, 0.25]}))
    assert cut_table(tmp_path / "m.csv", 1) == "step,d_loss\n1,0.5\n"  # the partial row is dropped too


def test_resume_through_run_dirs_gives_identical_metrics(tiny, tmp_path):
    def run(paths_root, steps, resume_to=None):
        trainer = Trainer(tiny)
        recorder = RunRecorder(trainer, create_run_dir(tiny, run_dir=paths_root))
        for _ in range(steps):
            recorder.record(trainer.step())
        for _ in range(3):  # rows past the checkpoint, as a crash would leave them
            recorder.record(trainer.step())
        recorder.close()
        if resume_to:
            trainer, paths = open_run_for_resume(paths_root)
            recorder = RunRecorder(trainer, paths)
            while trainer.step_count < resume_to:
                recorder.record(trainer.step())
            recorder.close()
        return read_metrics(RunPaths(paths_root).metrics)

    straight = run(tmp_path / "a", 40)
    resumed = run(tmp_path / "b", 20, resume_to=43)
    columns = ["step", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_fake_after",
               "grad_norm_d", "grad_norm_g"]
    pd.testing.assert_frame_equal(straight[columns], resumed[columns])


def test_list_runs(tiny, tmp_path):
    paths = create_run_dir(tiny, runs_root=tmp_path)
    (tmp_path / "not-a-run").mkdir()
    runs = list_runs(tmp_path)
    assert [r.path for r in runs] == [paths.root] and runs[0].status == "live"
