"""RunRecorder as the one owner of a run's life: events handed out once, finishing with a reason,
rewinding to the last good state; Trainer.initial_state_dict; checkpoints stamped by the checkpoint module."""

import pytest
import torch

from gan_core.engine.trainer import Trainer
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.checkpoint import load_checkpoint, save_checkpoint
from gan_core.runs.lock import run_owner
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import read_events
from gan_core.runs.schema import CHECKPOINT_FORMAT


def _recorder(config, tmp_path, steps=0):
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, run_dir=tmp_path / "r"))
    for _ in range(steps):
        assert recorder.record(trainer.step())
    return trainer, recorder


def _nan_row(trainer):
    return {**trainer.step(), "g_loss": float("nan")}


def test_take_events_hands_each_event_out_once(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path)
    recorder.log("start")
    for _ in range(10):
        recorder.record(trainer.step())  # checkpoint_every=10
    assert [e["kind"] for e in recorder.take_events()] == ["start", "checkpoint"]
    assert recorder.take_events() == []
    recorder.close()


def test_finish_writes_a_last_checkpoint_and_the_reason_then_releases_the_run(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path, steps=3)
    recorder.finish("finish")
    recorder.finish("failed", message="ignored: the run has ended")
    paths = recorder.paths
    assert load_checkpoint(paths.latest)["step"] == 3 and paths.sample_grid(3).is_file()
    assert [e["kind"] for e in read_events(paths.events)] == ["checkpoint", "finish"]
    assert recorder.finished == "finish" and run_owner(paths.root) is None
    recorder.close()  # nothing left to do
    with pytest.raises(ValueError, match="reason='done'"):
        recorder.finish("done")


def test_a_non_finite_run_stops_without_overwriting_its_last_good_checkpoint(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path, steps=10)
    assert recorder.record(_nan_row(trainer)) is False and recorder.diverged
    recorder.finish("stop")
    events = read_events(recorder.paths.events)
    assert [e["kind"] for e in events][-2:] == ["nonfinite", "stop"]
    assert events[-2]["message"] == "non-finite loss at step 11"
    assert events[-1]["message"] == "stopped without a checkpoint: the weights were non-finite"
    assert load_checkpoint(recorder.paths.latest)["step"] == 10


def test_finish_nonfinite_logs_the_event_once(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path, steps=2)
    recorder.finish("nonfinite")  # a loss another rank saw: this rank's rows were finite
    assert [e["kind"] for e in read_events(recorder.paths.events)] == ["nonfinite"]
    trainer, recorder = _recorder(tiny, tmp_path / "second", steps=2)
    recorder.record(_nan_row(trainer))
    recorder.finish("nonfinite")
    assert [e["kind"] for e in read_events(recorder.paths.events)] == ["nonfinite"]
    assert not recorder.paths.latest.exists()


def test_restore_last_good_goes_back_to_latest_and_cuts_metrics(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path, steps=12)  # latest.pt at step 10
    trainer.update_hyperparameters({"optimizer.lr_g": 1e-3})  # a live change made while diverged is kept
    recorder.record(_nan_row(trainer))
    assert recorder.restore_last_good() == 10
    assert trainer.step_count == 10 and trainer.optimizer_g.param_groups[0]["lr"] == 1e-3
    assert not recorder.diverged and recorder.take_events()[-1]["kind"] == "restore"
    recorder.record(trainer.step())
    recorder.close()
    assert read_metrics(recorder.paths.metrics)["step"].tolist() == list(range(1, 12))


def test_restore_last_good_without_a_checkpoint_goes_back_to_step_0(tiny, tmp_path):
    trainer, recorder = _recorder(tiny, tmp_path, steps=3)
    recorder.record(_nan_row(trainer))
    assert recorder.restore_last_good() == 0
    fresh = Trainer(tiny)
    assert [r["d_loss"] for r in (trainer.step(), trainer.step())] == [r["d_loss"] for r in (fresh.step(), fresh.step())]
    recorder.close()
    assert read_metrics(recorder.paths.metrics).empty


def test_initial_state_dict_is_a_fresh_trainers_state_and_leaves_the_trainer_alone(tiny):
    config = tiny.with_changes({"training.ema_decay": 0.5})
    trainer = Trainer(config)
    for _ in range(3):
        trainer.step()
    before = trainer.state_dict()
    initial, fresh = trainer.initial_state_dict(), Trainer(config).state_dict()
    assert initial.keys() == fresh.keys() and initial["step"] == 0
    for key in ("generator", "discriminator", "generator_ema"):
        assert all(torch.equal(initial[key][name], fresh[key][name]) for name in fresh[key])
    for key in ("rng", "noise_rng", "fixed_noise"):
        assert torch.equal(initial[key], fresh[key])
    assert torch.equal(initial["sampler"]["order"], fresh["sampler"]["order"])
    assert initial["optimizer_g"]["state"] == {} and trainer.step_count == 3
    assert all(torch.equal(before["generator"][n], t) for n, t in trainer.state_dict()["generator"].items())


def test_state_dict_is_plain_and_the_checkpoint_module_stamps_it(tiny, tmp_path):
    state = Trainer(tiny).state_dict()
    assert "format" not in state and "schema_version" not in state
    saved = torch.load(save_checkpoint(state, tmp_path / "c.pt"), weights_only=True)
    assert saved["format"] == CHECKPOINT_FORMAT and list(saved)[:2] == ["format", "schema_version"]
