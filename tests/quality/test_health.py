"""Health rules on crafted metric streams, and best.pt kept by FID."""

from __future__ import annotations

import torch

from gan_core.engine.trainer import Trainer
from gan_core.quality.health import HealthMonitor
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.checkpoint import load_checkpoint
from gan_core.runs.paths import read_events


def _rows(d_fakes):
    return [{"step": i + 1, "d_fake": value} for i, value in enumerate(d_fakes)]


def test_discriminator_winning_fires_once_after_a_sustained_window():
    monitor = HealthMonitor(d_winning_window=50)
    alerts = [a for row in _rows([0.3] * 20 + [0.01] * 120) for a in monitor.observe_row(row)]
    assert [(a.rule, a.step) for a in alerts] == [("discriminator_winning", 70)]
    assert "lower lr_d" in alerts[0].hint


def test_discriminator_winning_silent_on_healthy_and_brief_dips():
    monitor = HealthMonitor(d_winning_window=50)
    stream = ([0.4] * 100 + [0.02] * 30) * 5
    assert not [a for row in _rows(stream) for a in monitor.observe_row(row)]


def _quality(step, fid, covered=10, diversity=30.0):
    return {"step": step, "fid": fid, "classes_covered": covered, "diversity": diversity}


def test_mode_collapse_fires_on_coverage_drop_and_on_low_diversity():
    monitor = HealthMonitor(real_diversity=30.0)
    assert not monitor.observe_quality(_quality(1, 50.0, covered=10))
    alerts = monitor.observe_quality(_quality(2, 40.0, covered=7))
    assert [a.rule for a in alerts] == ["mode_collapse"] and "10 to 7" in alerts[0].message
    other = HealthMonitor(real_diversity=30.0)
    early = [other.observe_quality(_quality(step, 50.0, diversity=10.0)) for step in (1, 2)]
    assert early == [[], []]  # warm-up: the first samples are blobs
    assert [a.rule for a in other.observe_quality(_quality(3, 40.0, diversity=10.0))] == ["mode_collapse"]


def test_stagnation_fires_after_patience_and_not_while_improving():
    improving = HealthMonitor(stagnation_patience=3, real_diversity=30.0)
    assert not [a for i in range(10) for a in improving.observe_quality(_quality(i, 100.0 - i))]
    stuck = HealthMonitor(stagnation_patience=3, real_diversity=30.0)
    fids = [50, 40, 41, 42, 43, 44, 45]
    alerts = [a for i, f in enumerate(fids) for a in stuck.observe_quality(_quality(i, f))]
    assert [(a.rule, a.step) for a in alerts] == [("stagnation", 4)]


class _ScriptedEvaluator:
    """Stands in for the classifier: returns a scripted FID per call."""

    def __init__(self, fids):
        self.fids = iter(fids)

    def score(self, images):
        return {"fid": next(self.fids), "classes_covered": 10, "kl_uniform": 0.0, "precision": 1.0,
                "recall": 1.0, "diversity": 30.0}


def test_best_checkpoint_is_replaced_only_when_fid_improves(tiny, tmp_path):
    config = tiny.with_changes({"training.eval_every": 5, "training.checkpoint_every": 1000,
                                "training.eval_samples": 10})
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"))
    recorder.quality.evaluator = _ScriptedEvaluator([5.0, 3.0, 4.0, 2.0, 2.5])
    recorder.quality.reference = {"diversity": 30.0}
    recorder.quality.due = lambda: trainer.step_count % 5 == 0  # every 5 steps, whatever the cost
    best_steps = []
    for _ in range(25):
        recorder.record(trainer.step())
        if trainer.step_count % 5 == 0:
            best_steps.append(load_checkpoint(recorder.quality.best_path)["step"])
    recorder.close()
    assert best_steps == [5, 10, 10, 20, 20]
    assert [e["fid"] for e in read_events(recorder.paths.events) if e["kind"] == "best"] == [5.0, 3.0, 2.0]
    quality = (tmp_path / "r" / "quality.csv").read_text().splitlines()
    assert quality[0].startswith("step,fid") and len(quality) == 6
    assert torch.isfinite(torch.tensor([float(line.split(",")[1]) for line in quality[1:]])).all()


def test_all_rules_silent_on_a_healthy_run():
    monitor = HealthMonitor(d_winning_window=50, real_diversity=30.0)
    rows = [{"step": i, "d_fake": 0.3 + 0.1 * ((i % 7) / 7)} for i in range(1, 1001)]
    alerts = [a for row in rows for a in monitor.observe_row(row)]
    for index, step in enumerate(range(100, 1001, 100)):
        alerts += monitor.observe_quality(_quality(step, 80.0 / (index + 1), covered=9 + index % 2, diversity=28.0))
    assert alerts == []
