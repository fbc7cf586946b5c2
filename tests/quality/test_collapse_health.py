"""Health that catches collapse early (#12 item 4): a dense early evaluation schedule within the time budget,
and the spread of each saved grid's fixed-noise samples against the real images' as a cheap signal."""

from __future__ import annotations

import pytest

from gan_core.config.presets import preset
from gan_core.engine.trainer import Trainer
from gan_core.quality.health import HealthMonitor
from gan_core.record.live_quality import LiveEvaluation
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.paths import read_events


def test_low_diversity_fires_after_the_warmup_on_two_low_grids_and_rearms():
    monitor = HealthMonitor()
    stream = [(200, 0.1), (400, 0.12), (600, 0.11), (800, 0.9), (1000, 0.2), (1200, 0.2)]
    fired = [(step, alert.rule) for step, ratio in stream for alert in monitor.observe_samples(step, ratio)]
    # 200 is inside the warm-up (a fresh G's samples are alike); 400 and 600 are low: it fires at 600;
    # recovery at 800 re-arms it; 1000 and 1200 low again: it fires again.
    assert fired == [(600, "low_diversity"), (1200, "low_diversity")]


def test_healthy_spread_never_fires():
    monitor = HealthMonitor()
    assert not [a for step in range(200, 4000, 200) for a in monitor.observe_samples(step, 0.7)]


def test_one_class_quality_stream_raises_mode_collapse_within_the_first_evaluations():
    monitor = HealthMonitor(real_diversity=6.0)
    rules = []
    for index, step in enumerate(range(100, 700, 100)):  # the dense early schedule: every 100 steps
        quality = {"step": step, "fid": 900.0 - index, "classes_covered": 1, "diversity": 1.0}
        rules += [(step, alert.rule) for alert in monitor.observe_quality(quality)]
    assert rules and rules[0] == (300, "mode_collapse")  # the third evaluation, after the 2-evaluation warm-up


def _recorder(tiny, tmp_path, every: int) -> RunRecorder:
    """A recorder of a tiny run with live evaluation every `every` steps: it builds the LiveEvaluation."""
    config = tiny.with_changes({"training.eval_every": every, "training.eval_samples": 64})
    return RunRecorder(Trainer(config), create_run_dir(config, tmp_path / "run"))


@pytest.mark.parametrize("every, expected", [(500, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1500, 2000]),
                                             (3, [1, 2, 3, 4, 5, 6, 9, 12])])
def test_evaluations_start_dense_then_thin_out(tiny, tmp_path, every, expected):
    recorder = _recorder(tiny, tmp_path, every)
    try:
        evaluation = recorder.quality
        assert isinstance(evaluation, LiveEvaluation) and evaluation.every == every
        assert [s for s in range(1, expected[-1] + 1) if evaluation.scheduled(s)] == expected
    finally:
        recorder.close()


def test_a_real_runs_evaluation_is_due_on_the_dense_schedule(tiny, tmp_path):
    """The recorder's own LiveEvaluation, after real steps: due exactly on the schedule (nothing evaluated yet,
    so the 10% budget allows each)."""
    recorder = _recorder(tiny, tmp_path, 3)
    try:
        due = []
        for _ in range(12):
            recorder.trainer.step()
            if recorder.quality.due():
                due.append(recorder.trainer.step_count)
        assert due == [1, 2, 3, 4, 5, 6, 9, 12]
    finally:
        recorder.close()


def _health_events(name: str, steps: int, tmp_path) -> list[dict]:
    config = preset(name).with_changes({"training.eval_every": 0, "training.checkpoint_every": 10_000,
                                        "training.device": "cpu"})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, tmp_path / name))
    for _ in range(steps):
        recorder.record(trainer.step())
    recorder.close()
    return [e for e in read_events(recorder.paths.events) if e["kind"] == "health"]


@pytest.mark.slow
def test_a_real_seed_mlp_collapse_warns_and_the_default_presets_healthy_run_does_not(tmp_path):
    collapsed = _health_events("seed-mlp", 800, tmp_path)
    assert [e["rule"] for e in collapsed] == ["low_diversity"] and collapsed[0]["step"] <= 800
    assert "nearly alike" in collapsed[0]["message"]
    assert _health_events("default", 600, tmp_path) == []
