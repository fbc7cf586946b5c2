"""The A/B runner: two ordinary run directories differing in exactly one config field, trained side by side."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

import gan_core.control.ab
import gan_core.data.datasets
from gan_core.cli.main import main
from gan_core.config.presets import preset
from gan_core.config.schema import RunConfig
from gan_core.control.ab import AB_TAG, ABRunner, ab_configs
from gan_core.engine.trainer import Trainer
from gan_core.runs.admin import config_timeline, read_meta, timeline_differences
from gan_core.runs.lock import run_owner
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths, read_events

TINY_SETS = {"data.name": "digits", "model.hidden_dim": 16, "model.latent_dim": 8, "training.batch_size": 16,
             "training.device": "cpu", "training.eval_every": 0, "training.sample_every": 5,
             "training.checkpoint_every": 5, "training.grid_size": 16}
TINY_CLI = ["--preset", "seed-mlp", "--quiet"] + [arg for key, value in TINY_SETS.items()
                                                  for arg in ("--set", f"{key}={value}")]


def tiny() -> RunConfig:
    """seed-mlp on scikit-learn's 8x8 digits with a 16-wide MLP: hundreds of steps a second on a CPU."""
    return preset("seed-mlp").with_changes(TINY_SETS)


def leaves(values: dict, prefix: str = "") -> dict:
    """{dotted name: value} for every leaf of a nested config dict."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(leaves(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_differences(run_a: Path, run_b: Path) -> dict:
    """{field: (A's value, B's value)} for every leaf that differs between two runs' config.json."""
    a = leaves(json.loads(RunPaths(run_a).config.read_text()))
    b = leaves(json.loads(RunPaths(run_b).config.read_text()))
    assert a.keys() == b.keys()
    return {key: (a[key], b[key]) for key in a if a[key] != b[key]}


def event_kinds(run: Path) -> list[str]:
    return [event["kind"] for event in read_events(RunPaths(run).events)]


def _cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exit_:  # argparse's own errors
        return int(exit_.code)


# ---- configs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field,values,dotted", [
    ("loss.loss", ("minimax", "non_saturating"), "loss.loss"),
    ("lr_g", (1e-3, 2e-3), "optimizer.lr_g"),  # a bare name resolves to its section
    ("data.limit", (100, 200), "data.limit"),
])
def test_ab_configs_differ_in_the_chosen_field_only(field, values, dotted):
    config_a, config_b = ab_configs(tiny(), field, *values)
    a, b = leaves(config_a.to_dict()), leaves(config_b.to_dict())
    assert {key for key in a if a[key] != b[key]} == {dotted}
    assert (a[dotted], b[dotted]) == values and config_a.name == config_b.name == "seed-mlp"


@pytest.mark.parametrize("field,values,needle", [
    ("colour", ("red", "blue"), "unknown config field 'colour'"),
    ("loss.loss", ("minimax", "minimax"), "loss.loss='minimax' in both runs"),
    ("optimizer.lr_g", (1e-3, 0.001), "optimizer.lr_g=0.001 in both runs"),
    ("loss.loss", ("minimax", "wasserstein"), "loss.loss='wasserstein' is invalid"),
    ("batch_size", (16, 0), "training.batch_size=0 is invalid"),
])
def test_ab_configs_refuse_unknown_fields_equal_and_invalid_values(field, values, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        ab_configs(tiny(), field, *values)


# ---- the runner ------------------------------------------------------------------------------

def test_both_runs_train_to_the_target_on_the_same_data_and_seed(tmp_path, monkeypatch):
    loads = []
    real_load = gan_core.data.datasets.load_dataset
    monkeypatch.setattr(gan_core.data.datasets, "load_dataset", lambda config: loads.append(config) or real_load(config))
    runner = ABRunner()
    run_a, run_b = runner.start(tiny(), "loss.loss", "minimax", "non_saturating", steps=12, runs_root=tmp_path)
    assert runner.wait(120)
    progress = runner.progress()
    assert progress.status == "finished" and progress.error is None
    assert progress.step == (12, 12) and progress.ended == ("finish", "finish")
    assert progress.run_dirs == (str(run_a), str(run_b)) and run_a.parent == run_b.parent == tmp_path
    assert len(loads) == 1  # one load serves both runs
    assert config_differences(run_a, run_b) == {"loss.loss": ("minimax", "non_saturating")}
    configs = {run.name: json.loads(RunPaths(run).config.read_text()) for run in (run_a, run_b)}
    assert timeline_differences({label: config_timeline(config, []) for label, config in configs.items()}) == {
        "loss.loss": {run_a.name: "minimax", run_b.name: "non_saturating"}}
    for run, label, value in ((run_a, "A", "minimax"), (run_b, "B", "non_saturating")):
        paths = RunPaths(run)
        assert read_metrics(paths.metrics)["step"].tolist() == list(range(1, 13))
        assert paths.latest.exists() and paths.step_checkpoint(12).exists()
        assert event_kinds(run)[0] == "start" and event_kinds(run)[-1] == "finish"
        assert run_owner(run) is None  # each lock released
        meta = read_meta(run)
        assert meta.display_name == f"{label}: loss.loss={value}" and meta.tags == (AB_TAG,)
    # Same data, seed and D phase: step 1's D loss agrees; the G losses differ (minimax's is negative).
    first_a, first_b = (read_metrics(RunPaths(run).metrics).iloc[0] for run in (run_a, run_b))
    assert first_a["d_loss"] == pytest.approx(first_b["d_loss"], rel=1e-6)
    assert first_a["g_loss"] < 0 < first_b["g_loss"]
    assert progress.last_rows[0]["step"] == progress.last_rows[1]["step"] == 12


def test_stop_ends_both_runs_with_a_checkpoint(tmp_path):
    runner = ABRunner()
    run_a, run_b = runner.start(tiny(), "optimizer.lr_d", 2e-4, 4e-4, steps=1_000_000, runs_root=tmp_path)
    with pytest.raises(RuntimeError, match="already running"):
        runner.start(tiny(), "loss.loss", "minimax", "hinge", steps=5, runs_root=tmp_path)
    deadline = time.monotonic() + 60
    while min(runner.progress().step) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop()
    assert runner.wait(60)
    progress = runner.progress()
    assert progress.status == "stopped" and progress.ended == ("stop", "stop")
    assert abs(progress.step[0] - progress.step[1]) <= 1 and min(progress.step) >= 3
    for run, step in zip((run_a, run_b), progress.step):
        paths = RunPaths(run)
        assert paths.step_checkpoint(step).exists() and event_kinds(run)[-1] == "stop"
        assert read_metrics(paths.metrics)["step"].tolist() == list(range(1, step + 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([run_a.name, run_b.name])  # no third run


def test_a_failed_start_leaves_no_run_behind(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gan_core.control.ab, "update_meta", refuse)
    runner = ABRunner()
    with pytest.raises(OSError, match="No space"):
        runner.start(tiny(), "loss.loss", "minimax", "hinge", steps=5, runs_root=tmp_path)
    assert list(tmp_path.iterdir()) == [] and runner.progress().status == "idle"
    monkeypatch.undo()
    runner.start(tiny(), "loss.loss", "minimax", "hinge", steps=2, runs_root=tmp_path)  # the runner is free again
    assert runner.wait(60) and runner.progress().status == "finished"


def _poison_minimax_at_step(monkeypatch, step: int) -> None:
    """Run A (minimax) reports a NaN D loss at `step`; run B trains as usual."""
    real_step = Trainer.step

    def poisoned(self, *args, **kwargs):
        row = real_step(self, *args, **kwargs)
        if self.config.loss.loss == "minimax" and row["step"] == step:
            row = {**row, "d_loss": float("nan")}
        return row

    monkeypatch.setattr(Trainer, "step", poisoned)


def test_a_non_finite_run_stops_only_itself(tmp_path, monkeypatch):
    _poison_minimax_at_step(monkeypatch, 7)
    runner = ABRunner()
    run_a, run_b = runner.start(tiny(), "loss.loss", "minimax", "non_saturating", steps=12, runs_root=tmp_path)
    assert runner.wait(120)
    progress = runner.progress()
    assert progress.status == "finished" and progress.ended == ("nonfinite", "finish")
    assert progress.step == (7, 12) and math.isnan(progress.last_rows[0]["d_loss"])
    assert "nonfinite" in event_kinds(run_a) and "finish" not in event_kinds(run_a)
    assert not RunPaths(run_a).step_checkpoint(7).exists()  # no checkpoint from the bad weights
    assert RunPaths(run_a).step_checkpoint(5).exists() and run_owner(run_a) is None
    assert event_kinds(run_b)[-1] == "finish" and RunPaths(run_b).step_checkpoint(12).exists()


def test_an_error_fails_both_runs(tmp_path, monkeypatch):
    real_step = Trainer.step

    def broken(self, *args, **kwargs):
        if self.config.loss.loss == "non_saturating" and self.step_count == 3:
            raise RuntimeError("boom in B")
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "step", broken)
    runner = ABRunner()
    run_a, run_b = runner.start(tiny(), "loss.loss", "minimax", "non_saturating", steps=50, runs_root=tmp_path)
    assert runner.wait(120)
    progress = runner.progress()
    assert progress.status == "failed" and "boom in B" in progress.error
    assert progress.ended == ("failed", "failed") and progress.step == (4, 3)
    for run in (run_a, run_b):
        assert event_kinds(run)[-1] == "failed" and run_owner(run) is None


# ---- the command line ------------------------------------------------------------------------

def test_cli_writes_two_runs_differing_in_the_field(tmp_path, capsys):
    assert _cli("ab", *TINY_CLI, "--field", "lr_g", "--values", "2e-4", "1e-3", "--steps", "6",
                "--runs-root", str(tmp_path)) == 0
    out = capsys.readouterr().out.splitlines()
    run_a, run_b = sorted(tmp_path.iterdir())
    assert run_a.name.endswith("-A") and run_b.name.endswith("-B")
    assert config_differences(run_a, run_b) == {"optimizer.lr_g": (2e-4, 1e-3)}
    assert out[0].startswith("A (optimizer.lr_g=0.0002): ") and out[0].endswith(str(run_a))
    summaries = [line for line in out if "d_loss" in line]
    assert len(summaries) == 2 and all("g_loss" in line and "d_fake" in line and "finish at step 6" in line
                                       for line in summaries)


def test_cli_non_finite_run_exits_1(tmp_path, capsys, monkeypatch):
    _poison_minimax_at_step(monkeypatch, 2)
    assert _cli("ab", *TINY_CLI, "--field", "loss.loss", "--values", "minimax", "non_saturating",
                "--steps", "4", "--runs-root", str(tmp_path)) == 1
    captured = capsys.readouterr()
    assert "non-finite loss in run A" in captured.err and "nonfinite at step 2" in captured.out
    assert "B loss.loss=non_saturating: finish at step 4" in captured.out


@pytest.mark.parametrize("args,needle", [
    (["--field", "colour", "--values", "red", "blue"], "unknown config field 'colour'"),
    (["--field", "loss.loss", "--values", "minimax", "minimax"], "loss.loss='minimax' in both runs"),
    (["--field", "lr_g", "--values", "1e-3", "0.001"], "optimizer.lr_g=0.001 in both runs"),
    (["--field", "lr_g", "--values", "1e-3", "fast"], "optimizer.lr_g='fast' is invalid"),
    (["--field", "loss.loss", "--values", "minimax", "wasserstein"], "loss.loss='wasserstein' is invalid"),
    (["--field", "loss", "--values", "minimax", "hinge", "--set", "loss.loss=hinge"], "--set loss.loss"),
    (["--field", "loss.loss", "--values", "minimax", "hinge", "--steps", "0"], "--steps=0"),
    (["--field", "loss.loss", "--values", "minimax", "hinge", "--config", "c.json"], "not allowed with"),
    (["--field", "loss.loss", "--values", "minimax"], "--values"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    assert _cli("ab", *TINY_CLI, *args, "--runs-root", str(tmp_path / "runs")) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()  # nothing created


def test_cli_missing_config_file_is_one_line_and_exit_2(tmp_path, capsys):
    assert _cli("ab", "--config", str(tmp_path / "missing.json"), "--field", "loss.loss", "--values", "minimax",
                "hinge", "--runs-root", str(tmp_path / "runs")) == 2
    err = capsys.readouterr().err
    assert "missing.json" in err and err.count("\n") == 1 and not (tmp_path / "runs").exists()


def test_cli_config_file_is_the_base(tmp_path, capsys):
    config_file = tmp_path / "base.json"
    config_file.write_text(tiny().with_changes({"name": "fromfile"}).to_json())
    assert _cli("ab", "--config", str(config_file), "--quiet", "--field", "training.seed", "--values", "1", "2",
                "--steps", "2", "--runs-root", str(tmp_path / "runs")) == 0
    run_a, run_b = sorted((tmp_path / "runs").iterdir())
    assert "fromfile" in run_a.name and config_differences(run_a, run_b) == {"training.seed": (1, 2)}
