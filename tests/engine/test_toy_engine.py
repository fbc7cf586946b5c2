"""2D toys through the engine (#11): config, data, point models in the Trainer, D-only / G-only steps,
bit-exact resume, toy evaluation and health, scatter sample grids, the session's finer stepping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.config.fields import validation_errors
from gan_core.config.presets import preset, toy_preset
from gan_core.config.schema import TOY_DATASET_NAMES, DataConfig, RunConfig
from gan_core.control.session import TrainingSession
from gan_core.data.datasets import load_dataset
from gan_core.engine.trainer import Trainer
from gan_core.nets.point_models import PointDiscriminator, PointGenerator
from gan_core.quality.health import HealthMonitor
from gan_core.record.opening import create_run_dir
from gan_core.record.recorder import RunRecorder
from gan_core.runs.checkpoint import load_checkpoint, load_generator, save_checkpoint
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import read_events
from gan_core.views.point_plot import FAKE_RGB, samples_image

RING = [[2.0, 0.0], [-2.0, 0.0]]


def tiny_toy(data: str = "ring8", **changes) -> RunConfig:
    """The toy preset made small: 512 points, 16-wide nets, batch 32, CPU."""
    return toy_preset(data).with_changes({"data.limit": 512, "model.hidden_dim": 16, "training.batch_size": 32,
                                          "training.device": "cpu", "training.sample_every": 10,
                                          "training.checkpoint_every": 10, "training.eval_every": 10,
                                          "training.eval_samples": 200, **changes})


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("name", TOY_DATASET_NAMES)
def test_every_toy_loads_as_points_with_its_modes(name):
    points = [[1.0, 1.0], [-1.0, 2.0], [0.5, -3.0]] if name == "drawn" else ()
    config = DataConfig(name=name, limit=300, points=points)
    dataset = load_dataset(config)
    assert dataset.is_points and dataset.images.shape == (300, 2) and dataset.image_shape == (2,)
    assert torch.equal(load_dataset(config).images, dataset.images)  # seeded: the same points every time
    expected_modes = {"ring8": 8, "grid25": 25, "gaussian": 1}.get(name)
    assert (dataset.modes is None) == (expected_modes is None)
    if expected_modes:
        assert dataset.modes.shape == (expected_modes, 2)
    assert len(load_dataset(DataConfig(name=name, points=points))) == 8192  # limit 0: the default count


def test_config_refuses_image_models_and_stray_points_for_toys_naming_the_field():
    values = toy_preset("ring8").to_dict()
    values["model"]["architecture"] = "dcgan"
    errors = dict(validation_errors(values))
    assert "model.architecture" in errors and "mlp" in errors["model.architecture"]
    with pytest.raises(ValueError, match="data.points"):
        DataConfig(name="ring8", points=[[0.0, 0.0], [1.0, 1.0]])  # points only for drawn
    with pytest.raises(ValueError, match="data.points.*at least 2"):
        DataConfig(name="drawn", points=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="data.points"):
        DataConfig(name="drawn", points=[[0.0, 0.0], [float("nan"), 1.0]])
    with pytest.raises(ValueError, match="data.points"):
        DataConfig(name="drawn", points=[[0.0, 0.0], [11.0, 1.0]])  # outside [-10, 10]
    with pytest.raises(ValueError, match="data.points"):
        DataConfig(name="drawn", points=[[0.0, 0.0]] * 2001)
    drawn = RunConfig.from_dict(json.loads(
        toy_preset("ring8").with_changes({"data.name": "drawn", "data.points": RING}).to_json()))
    assert drawn.data.points == ((2.0, 0.0), (-2.0, 0.0))  # JSON lists come back as the frozen tuples


def test_point_models_train_through_the_trainer_and_resume_bit_exact(tmp_path):
    config = tiny_toy()
    trainer = Trainer(config)
    assert isinstance(trainer.generator, PointGenerator) and isinstance(trainer.discriminator, PointDiscriminator)
    assert trainer.sample_fixed().shape == (256, 2) and trainer.max_threads == 1
    straight = [trainer.step()["d_loss"] for _ in range(24)]  # 512 / 32 = 16 batches: crosses an epoch
    first = Trainer(config)
    half = [first.step()["d_loss"] for _ in range(12)]
    save_checkpoint(first.state_dict(), tmp_path / "c.pt")
    resumed = Trainer(config)
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.pt"))  # vetted: image_shape [2] for point data
    assert half + [resumed.step()["d_loss"] for _ in range(12)] == straight
    generator, loaded_config, _ = load_generator(tmp_path / "c.pt")
    assert isinstance(generator, PointGenerator) and loaded_config.data.name == "ring8"


@pytest.mark.parametrize("update, moves, stays", [("discriminator", "discriminator", "generator"),
                                                   ("generator", "generator", "discriminator")])
def test_one_network_steps_change_only_that_network(update, moves, stays):
    trainer = Trainer(tiny_toy())
    trainer.step()  # Adam's state exists for both
    before = {name: _weights(getattr(trainer, name)) for name in ("generator", "discriminator")}
    row = trainer.step(update)
    assert not _same(before[moves], _weights(getattr(trainer, moves)))
    assert _same(before[stays], _weights(getattr(trainer, stays)))
    assert row["step"] == 2 and math.isfinite(row["g_loss"]) and math.isfinite(row["d_loss"])
    with pytest.raises(ValueError, match="update='both-ish'"):
        trainer.step("both-ish")


def test_recorder_writes_toy_quality_best_and_scatter_grids(tmp_path):
    config = tiny_toy()
    trainer = Trainer(config)
    recorder = RunRecorder(trainer, create_run_dir(config, tmp_path))
    for _ in range(30):
        assert recorder.record(trainer.step())
    recorder.finish("finish")
    paths = recorder.paths
    quality = read_metrics(paths.quality)
    # Every 10 steps, less where an evaluation would take over 10% of the training time since the last.
    assert quality["step"].iloc[0] == 10 and (quality["step"] % 10 == 0).all()
    assert set(quality["modes_total"]) == {8.0} and quality["js"].between(0, math.log(2)).all()
    assert paths.best.exists()
    grid = np.asarray(Image.open(paths.sample_grid(30)))
    assert grid.shape == (256, 256, 3) and (grid == FAKE_RGB).all(axis=-1).sum() > 50  # purple fake dots
    events = [e["kind"] for e in read_events(paths.events)]
    assert "best" in events and events[-1] == "finish"


def test_samples_image_is_a_grid_for_images_and_a_scatter_for_points():
    real = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    scatter = samples_image(torch.tensor([[0.0, 0.0]]), real)
    assert scatter.shape == (256, 256, 3) and tuple(scatter[128, 128]) == FAKE_RGB  # the centre dot
    assert samples_image(torch.zeros(4, 1, 8, 8), real).shape[-1] == 1


def _toy_quality(step: int, covered: float, total: float = 8.0, js: float = 0.3) -> dict:
    return {"step": step, "modes_covered": covered, "modes_total": total, "high_quality_share": 0.5,
            "kl": 1.0, "js": js}


def test_mode_collapse_fires_on_a_one_mode_stream_after_the_warmup_and_not_on_all_modes():
    collapsed, healthy = HealthMonitor(), HealthMonitor()
    fired = [(s, a.rule) for s in range(100, 3100, 100) for a in collapsed.observe_quality(_toy_quality(s, 1))]
    assert fired and fired[0] == (2000, "mode_collapse")  # not before the 2,000-step warm-up
    assert not [a for s in range(100, 3100, 100) for a in healthy.observe_quality(_toy_quality(s, 8, js=0.3 - s / 1e5))
                if a.rule == "mode_collapse"]
    hopping = HealthMonitor()  # G hopping between modes from one evaluation to the next is not a collapse
    assert not [a for s, c in zip(range(100, 3100, 100), [8, 6, 8, 5, 8, 7, 6, 8] * 4)
                for a in hopping.observe_quality(_toy_quality(s, c, js=0.3 - s / 1e5))]
    dropped = HealthMonitor()
    rules = [(s, a.rule) for s, c in zip(range(100, 1100, 100), [8] * 5 + [5] * 5)
             for a in dropped.observe_quality(_toy_quality(s, c, js=0.3 - s / 1e5))]
    assert rules == [(800, "mode_collapse")]  # the median of the last 5 fell from 8 to 5 at the third 5
    shapeless = HealthMonitor()  # two moons: no modes, NaN columns; only the divergence is read
    assert not [a for s in range(100, 3000, 100)
                for a in shapeless.observe_quality(_toy_quality(s, math.nan, math.nan, js=0.3 - s / 1e5))]


def test_session_steps_one_network_while_paused(tmp_path):
    session = TrainingSession(runs_root=tmp_path)
    session.start(tiny_toy(**{"training.eval_every": 0}), paused=True)
    assert session.wait_for(lambda s: s.status == "paused", 30)
    session.step(1)
    assert session.wait_for(lambda s: s.snapshot().steps_pending == 0 and s.snapshot().step == 1, 30)
    generator, discriminator = _weights(session.generator()), _weights(session.discriminator())
    session.step(2, "discriminator")
    assert session.wait_for(lambda s: s.snapshot().steps_pending == 0 and s.snapshot().step == 3, 30)
    assert _same(generator, _weights(session.generator()))
    assert not _same(discriminator, _weights(session.discriminator()))
    with pytest.raises(ValueError, match="update="):
        session.step(1, "neither")
    session.shutdown()
    assert session.status == "finished"


def test_toy_presets_are_valid_point_configs():
    for name in ("toy-ring", "toy-grid", "toy-moons", "toy-spiral"):
        config = preset(name)
        assert config.data.is_points and config.model.architecture == "mlp" and config.model.latent_dim == 2


def test_quality_caption_speaks_of_modes_for_toys_and_of_fid_for_images():
    from dashboard.live.messages import quality_caption

    toy = quality_caption([{**_toy_quality(300, 6.0), "high_quality_share": 0.42}])
    assert toy == "Latest quality at step 300: 6 of 8 modes covered, 42% of samples near a mode, KL 1.00, JS 0.300"
    moons = quality_caption([_toy_quality(300, math.nan, math.nan)])
    assert "modes" not in moons and "JS 0.300" in moons
    image = quality_caption([{"step": 500, "fid": 30.0, "precision": 0.5, "recall": 0.4, "classes_covered": 9}])
    assert image.startswith("Latest quality at step 500: FID 30.00 (best 30.00)")


def test_cli_samples_scatters_refuses_strips_and_evaluates_a_2d_checkpoint(tmp_path, capsys):
    from gan_core.cli.main import main as cli

    run = tmp_path / "toy"
    args = ["--preset", "toy-ring", "--set", "data.limit=512", "--set", "model.hidden_dim=16", "--set",
            "batch_size=32", "--set", "eval_every=0", "--quiet", "--run-dir", str(run)]
    assert cli(["train", *args, "--steps", "20"]) == 0
    checkpoint = str(run / "checkpoints" / "latest.pt")
    assert cli(["sample", "--checkpoint", checkpoint, "--n", "50", "--out", str(tmp_path / "p.npy")]) == 0
    assert np.load(tmp_path / "p.npy").shape == (50, 2)
    assert cli(["sample", "--checkpoint", checkpoint, "--n", "50", "--out", str(tmp_path / "p.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "p.png")).shape == (256, 256, 3)
    capsys.readouterr()
    assert cli(["interpolate", "--checkpoint", checkpoint, "--from-seed", "1", "--to-seed", "2",
                "--out", str(tmp_path / "s.png")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "2D point run" in error and not (tmp_path / "s.png").exists()
    assert cli(["evaluate", "--checkpoint", checkpoint, "--n", "300"]) == 0
    printed = capsys.readouterr().out
    assert "modes_covered" in printed and "modes_total              8.0000" in printed and "js" in printed
