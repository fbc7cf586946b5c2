"""Differentiable augmentation wired into training (#12 item 2): config, the Trainer's D and G phases,
p and r_t logged per step, bit-exact resume, and metrics.csv from an older version gaining the new columns."""

from __future__ import annotations

import pytest
import torch

from gan_core.columns import METRIC_NAMES
from gan_core.config.presets import toy_preset
from gan_core.engine.trainer import Trainer
from gan_core.runs.checkpoint import load_checkpoint, save_checkpoint
from gan_core.runs.metrics import MetricsWriter, read_metrics


def test_fixed_augmentation_changes_what_d_sees_but_not_the_batches_or_noise(tiny):
    plain, augmented = Trainer(tiny), Trainer(tiny.with_changes({"training.augment": "fixed",
                                                                 "training.augment_p": 1.0}))
    first_plain, first_augmented = plain.step(), augmented.step()
    assert first_plain["augment_p"] == 0.0 and first_augmented["augment_p"] == 1.0
    assert first_plain["d_real"] != first_augmented["d_real"]  # D scored transformed reals
    # The augmentation has its own generator: the batch order and the training noise are untouched.
    assert torch.equal(plain.sampler.order, augmented.sampler.order)
    assert torch.equal(plain.noise_rng.get_state(), augmented.noise_rng.get_state())


def test_augmentation_at_p_zero_is_the_plain_run(tiny):
    rows_plain = [Trainer(tiny).step() for _ in range(1)]
    rows_zero = [Trainer(tiny.with_changes({"training.augment": "fixed", "training.augment_p": 0.0})).step()]
    assert rows_plain[0]["d_loss"] == rows_zero[0]["d_loss"] and rows_plain[0]["g_loss"] == rows_zero[0]["g_loss"]


def test_g_learns_through_the_augmentation(tiny, monkeypatch):
    trainer = Trainer(tiny.with_changes({"training.augment": "fixed", "training.augment_p": 1.0}))
    calls = []
    real_augment = trainer._augment

    def spy(images, probability):
        calls.append(images.requires_grad)
        return real_augment(images, probability)

    monkeypatch.setattr(trainer, "_augment", spy)
    row = trainer.step()
    # D phase: reals and detached fakes; G phase: the fakes with their graph, so G's gradient passes the ops.
    assert calls == [False, False, True] and row["grad_norm_g"] > 0


def test_adaptive_p_moves_with_r_t_and_is_logged_every_step(tiny):
    trainer = Trainer(tiny.with_changes({"training.augment": "adaptive", "training.augment_p": 0.0,
                                         "training.augment_target": 0.6}))
    rows = [trainer.step() for _ in range(20)]
    for before, after in zip(rows, rows[1:]):
        step = tiny.training.batch_size / 100_000
        expected = before["augment_p"] + (step if before["overfit_r"] > 0.6 else -step)
        assert after["augment_p"] == pytest.approx(min(1.0, max(0.0, expected)))
    assert all(-1.0 <= r["overfit_r"] <= 1.0 and 0.0 <= r["d_fake_std"] <= 0.5 for r in rows)


def test_resume_with_adaptive_augmentation_is_bit_exact(tiny, tmp_path):
    config = tiny.with_changes({"training.augment": "adaptive", "training.augment_p": 0.3})
    trainer = Trainer(config)
    straight = [(r["d_loss"], r["augment_p"]) for r in (trainer.step() for _ in range(12))]
    first = Trainer(config)
    half = [(r["d_loss"], r["augment_p"]) for r in (first.step() for _ in range(6))]
    save_checkpoint(first.state_dict(), tmp_path / "c.pt")
    resumed = Trainer(config)
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.pt"))
    assert half + [(r["d_loss"], r["augment_p"]) for r in (resumed.step() for _ in range(6))] == straight


def test_config_names_the_augment_fields_and_refuses_them_for_points(tiny):
    with pytest.raises(ValueError, match="training.augment='sometimes'"):
        tiny.with_changes({"training.augment": "sometimes"})
    with pytest.raises(ValueError, match="training.augment_p=1.5"):
        tiny.with_changes({"training.augment_p": 1.5})
    with pytest.raises(ValueError, match="training.augment_target=1.0"):
        tiny.with_changes({"training.augment_target": 1.0})
    with pytest.raises(ValueError, match="training.augment='fixed'.*2D point set"):
        toy_preset("ring8").with_changes({"training.augment": "fixed"})


def test_a_metrics_file_from_before_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "metrics.csv"
    old = [name for name in METRIC_NAMES if name not in ("overfit_r", "augment_p", "d_fake_std")]
    path.write_text(",".join(old) + "\n" + ",".join("1" if n == "step" else "0.5" for n in old) + "\n")
    writer = MetricsWriter(path)  # as a resumed run opens it
    writer.append({name: (2 if name == "step" else 0.25) for name in METRIC_NAMES})
    writer.close()
    frame = read_metrics(path)
    assert list(frame.columns) == list(METRIC_NAMES) and list(frame["step"]) == [1, 2]
    assert frame["d_loss"].tolist() == [0.5, 0.25]
    assert frame["augment_p"].isna().tolist() == [True, False]  # the old row has no value, not a shifted one
