"""Class-conditional GANs (model.conditional): class embedding in G, projection D, label draws, the per-class
grid, resume, checkpoints, the CLI's --class, and conditional accuracy after brief training on digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.support.configs import tiny_config

from gan_core.cli.main import main
from gan_core.config.presets import preset
from gan_core.config.schema import DataConfig, ModelConfig, RunConfig
from gan_core.data.datasets import ImageDataset
from gan_core.engine.trainer import Trainer
from gan_core.nets.models import ConditionalBatchNorm, build_models
from gan_core.quality.evaluator import Evaluator, conditional_inputs
from gan_core.runs.checkpoint import load_checkpoint, load_generator, save_checkpoint
from gan_core.runs.vetting import CheckpointError
from gan_core.views.latent import generate, zs_from_seeds
from gan_core.views.point_plot import samples_image

SHAPES = {"mlp": (1, 28, 28), "dcgan": (1, 28, 28)}


def conditional_tiny(**changes) -> RunConfig:
    """tiny_config on digits (1,797 labelled 8x8 images, 10 classes), conditional."""
    return tiny_config().with_changes({"data.name": "digits", "data.limit": 0, "model.conditional": True,
                                       "model.base_channels": 4, **changes})


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
@pytest.mark.parametrize("norm", ["none", "batch", "spectral"])
def test_class_embedding_and_projection_shapes(architecture, norm):
    model = ModelConfig(architecture=architecture, latent_dim=8, hidden_dim=16, depth=1, base_channels=4,
                        discriminator_norm=norm, conditional=True)
    generator, discriminator = build_models(model, (1, 28, 28), num_classes=10)
    if architecture == "mlp":
        assert generator.embed.weight.shape == (10, 8)  # one latent_dim vector per class, concatenated to z
    else:  # every BatchNorm of G takes a scale and a shift per class: (classes, channels)
        norms = [m for m in generator.modules() if isinstance(m, ConditionalBatchNorm)]
        assert [tuple(m.scale.weight.shape) for m in norms] == [(10, 8 * 7 * 7), (10, 4)]
        assert all(m.shift.weight.shape == m.scale.weight.shape for m in norms)
        assert generator.project[0].in_features == 8  # z alone: the class enters through the norms
    z, labels = torch.randn(5, 8), torch.tensor([0, 3, 9, 3, 1])
    images = generator(z, labels)
    assert images.shape == (5, 1, 28, 28)
    # The class changes the image for the same z.
    assert not torch.allclose(generator.eval()(z, labels), generator(z, (labels + 1) % 10))
    # Projection: one vector per class, as wide as D's features phi(x) (the final linear's input).
    features = discriminator.net[-1].in_features
    assert discriminator.embed.weight.shape == (10, features)
    logits = discriminator(images, labels)
    assert logits.shape == (5,)
    with torch.no_grad():  # logit = psi(phi(x)) + <embed(y), phi(x)>
        phi = discriminator.eval().net[:-1](images)
        expected = discriminator.net[-1](phi).view(-1) + (discriminator.embed(labels) * phi).sum(1)
        assert torch.allclose(discriminator(images, labels), expected, atol=1e-5)
    with pytest.raises(ValueError, match="model.conditional"):
        discriminator(images)
    # A conditional G called the unconditional way draws the classes in turn (callers that know no classes).
    assert torch.equal(generator(z), generator(z, torch.arange(5) % 10))


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_unconditional_models_are_unchanged(architecture):
    model = ModelConfig(architecture=architecture, latent_dim=8, hidden_dim=16, depth=1, base_channels=4)
    torch.manual_seed(0)
    generator, discriminator = build_models(model, SHAPES[architecture], num_classes=10)
    assert getattr(generator, "embed", None) is None and discriminator.embed is None
    assert not any(isinstance(m, ConditionalBatchNorm) for m in generator.modules())
    assert not any(word in key for key in {**generator.state_dict(), **discriminator.state_dict()}
                   for word in ("embed", "scale", "shift"))
    assert discriminator(generator(torch.randn(3, 8))).shape == (3,)


def test_config_refusals():
    with pytest.raises(ValueError, match="model.conditional"):
        RunConfig(data=DataConfig(name="ring8"), model=ModelConfig(conditional=True))
    with pytest.raises(ValueError, match="model.conditional"):
        ModelConfig(conditional="yes")
    with pytest.raises(ValueError, match="model.conditional"):
        build_models(ModelConfig(conditional=True), (1, 8, 8), num_classes=0)
    config = preset("conditional")
    assert config.model.conditional and config.model.architecture == "dcgan"
    assert config.model.discriminator_norm == "spectral" and config.training.ema_decay > 0
    # The default with its labels instead of its clusters.
    assert config.with_changes({"model.conditional": False}).model == \
        preset("default").with_changes({"model.clusters": 0}).model


def test_unlabelled_data_is_refused_at_build():
    unlabelled = ImageDataset(images=torch.rand(64, 1, 8, 8) * 2 - 1, labels=None, name="folder")
    config = conditional_tiny()
    with pytest.raises(ValueError, match="model.conditional=True is invalid for data set digits: it has no labels"):
        Trainer(config, dataset=unlabelled)


def test_fake_labels_follow_the_class_shares(toy_dataset):
    # toy_dataset: 4 labels; make the shares uneven (1/2, 1/4, 1/8, 1/8).
    labels = torch.tensor([0] * 32 + [1] * 16 + [2] * 8 + [3] * 8)
    dataset = ImageDataset(images=toy_dataset.images, labels=labels, name="folder")
    trainer = Trainer(conditional_tiny(), dataset=dataset)
    (drawn,) = trainer.conditioning.fake_labels(trainer.sample_noise(40000))
    shares = torch.bincount(drawn, minlength=4).double() / drawn.numel()
    assert torch.allclose(shares, torch.tensor([0.5, 0.25, 0.125, 0.125], dtype=torch.float64), atol=0.01)
    # Real labels are the batch's own.
    indices = torch.tensor([0, 40, 50, 63])
    assert trainer.conditioning.real_labels(indices)[0].tolist() == [0, 1, 2, 3]


def test_fixed_grid_has_one_row_per_class_sharing_grid_size():
    trainer = Trainer(conditional_tiny().with_changes({"training.grid_size": 40}))
    z, labels = trainer.fixed_inputs()
    assert trainer.num_classes == 10 and trainer.grid_columns == 4  # 40 samples: 4 per class row
    assert labels.view(10, 4).tolist() == [[k] * 4 for k in range(10)]  # row k: class k
    assert torch.equal(z.view(10, 4, -1), z[:4].unsqueeze(0).expand(10, 4, -1))  # one z per column
    assert trainer.sample_fixed().shape == (40, 1, 8, 8)
    grid = samples_image(trainer.sample_fixed(), trainer.images, trainer.grid_columns)
    assert grid.shape[:2] == (10 * 10 + 2, 4 * 10 + 2)  # 8x8 tiles with 2 px padding: 10 rows, 4 columns
    # Many classes never blow the grid up: at least one sample per class, at most grid_size // K per row.
    assert Trainer(conditional_tiny().with_changes({"training.grid_size": 4})).grid_columns == 1


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_conditional_resume_is_bit_exact(tmp_path, architecture):
    config = conditional_tiny(**{"training.ema_decay": 0.5, "model.architecture": architecture,
                                 "model.discriminator_norm": "spectral" if architecture == "dcgan" else "none",
                                 "training.batch_size": 64})

    def rows(trainer, count):
        return [{k: v for k, v in trainer.step().items() if k not in ("time_s", "images_per_s", "wall_time")}
                for _ in range(count)]

    straight = rows(Trainer(config), 30)  # crosses an epoch boundary (1,797 / 64 = 28 batches)
    first = Trainer(config)
    half = rows(first, 15)
    save_checkpoint(first.state_dict(), tmp_path / "c.pt")
    state = load_checkpoint(tmp_path / "c.pt")
    assert state["num_classes"] == 10
    resumed = Trainer(config)
    resumed.load_state_dict(state)
    assert half + rows(resumed, 15) == straight


def test_checkpoint_vets_num_classes_and_loads_a_sampler(tmp_path):
    trainer = Trainer(conditional_tiny())
    trainer.step()
    state = trainer.state_dict()
    save_checkpoint(state, tmp_path / "c.pt")
    generator, config, _ = load_generator(tmp_path / "c.pt")
    assert config.model.conditional and generator.num_classes == 10
    z = zs_from_seeds(range(4), config.model.latent_dim)
    assert generate(generator, z, labels=torch.tensor([1, 2, 3, 4])).shape == (4, 1, 8, 8)
    save_checkpoint({**state, "num_classes": 1}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="num_classes"):
        load_checkpoint(tmp_path / "bad.pt")
    save_checkpoint({**state, "num_classes": 7}, tmp_path / "misfit.pt")  # embeddings of 10 classes
    with pytest.raises(CheckpointError, match="does not fit the config"):
        load_checkpoint(tmp_path / "misfit.pt")


def test_cli_sample_and_interpolate_with_class(tmp_path, capsys):
    trainer = Trainer(conditional_tiny())
    trainer.step()
    save_checkpoint(trainer.state_dict(), tmp_path / "c.pt")
    plain = Trainer(tiny_config())
    save_checkpoint(plain.state_dict(), tmp_path / "plain.pt")
    ck = str(tmp_path / "c.pt")
    assert main(["sample", "--checkpoint", ck, "--n", "6", "--class", "3", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    generator, _, _ = load_generator(ck)
    expected = generate(generator, zs_from_seeds(range(6), 8), labels=torch.full((6,), 3))
    assert np.allclose(samples, expected.numpy())
    assert main(["interpolate", "--checkpoint", ck, "--from-seed", "1", "--to-seed", "2", "--steps", "4",
                 "--class", "9", "--out", str(tmp_path / "i.png")]) == 0
    capsys.readouterr()
    for args, needle in ((["--checkpoint", ck, "--class", "10"], "--class=10 is invalid: allowed an integer from 0 to 9"),
                         (["--checkpoint", ck, "--class", "-1"], "--class=-1 is invalid"),
                         (["--checkpoint", str(tmp_path / "plain.pt"), "--class", "3"], "not conditional")):
        assert main(["sample", *args, "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1
        assert main(["interpolate", *args, "--from-seed", "0", "--to-seed", "1", "--out", str(tmp_path / "y.png")]) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_brief_training_makes_the_requested_class(tmp_path):
    """200 steps of a small conditional MLP on digits: the evaluator's classifier agrees with the requested
    class far more often than chance (0.1). Measured: ~0.98 at seed 0; an unconditional G scores ~0.1."""
    config = conditional_tiny(**{"model.latent_dim": 16, "model.hidden_dim": 128, "model.depth": 2,
                                 "model.discriminator_norm": "spectral", "optimizer.lr_d": 1e-3,
                                 "optimizer.lr_g": 1e-3, "optimizer.beta1": 0.5, "training.batch_size": 64})
    trainer = Trainer(config)
    for _ in range(200):
        trainer.step()
    evaluator = Evaluator.for_data(config.data, dataset=trainer.dataset)
    z, requested = conditional_inputs(500, trainer.num_classes, config.model.latent_dim)
    images = generate(trainer.sampling_generator(), z, labels=requested)
    scores = evaluator.conditional_scores(images, requested, trainer.dataset.labels)
    assert scores["conditional_accuracy"] > 0.5  # 5x chance
    assert len(scores["per_class_fid"]) == 10 and all(np.isfinite(scores["per_class_fid"]))
    # The same images scored against shuffled requests: chance level, so the score measures the condition.
    shuffled = requested[torch.randperm(len(requested), generator=torch.Generator().manual_seed(0))]
    assert evaluator.conditional_scores(images, shuffled, trainer.dataset.labels)["conditional_accuracy"] < 0.3


def test_live_evaluation_logs_conditional_accuracy(tmp_path):
    from gan_core.record.live_quality import LiveEvaluation
    from gan_core.runs.metrics import read_metrics

    trainer = Trainer(conditional_tiny())
    trainer.step()
    live = LiveEvaluation(trainer, tmp_path, every=1, samples=50)
    row = live.evaluate()
    live.close()
    assert row is not None and 0.0 <= row["conditional_accuracy"] <= 1.0
    frame = read_metrics(live.quality_path)
    assert float(frame["conditional_accuracy"].iloc[0]) == pytest.approx(row["conditional_accuracy"])
    plain = Trainer(tiny_config())
    live = LiveEvaluation(plain, tmp_path / "plain", every=1, samples=50)
    (tmp_path / "plain").mkdir()
    assert np.isnan(live.evaluate()["conditional_accuracy"])  # unconditional: NaN, never a fake number
    live.close()


@pytest.mark.slow
def test_cli_evaluate_reports_conditional_scores(tmp_path, capsys):
    trainer = Trainer(conditional_tiny())
    trainer.step()
    save_checkpoint(trainer.state_dict(), tmp_path / "c.pt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "c.pt"), "--n", "100",
                 "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "conditional accuracy" in out and "chance 0.1000" in out and "per-class FID" in out
    import json

    scores = json.loads((tmp_path / "s.json").read_text())["samples"]
    assert scores["n"] == 100 and len(scores["per_class_fid"]) == 10 and 0 <= scores["conditional_accuracy"] <= 1


def test_conditional_is_refused_under_torchrun():
    from gan_core.engine.distributed import DistributedInfo

    with pytest.raises(ValueError, match="model.conditional=True is invalid under torchrun"):
        Trainer(conditional_tiny(), distributed=DistributedInfo(rank=0, world_size=2))
