"""The latent tools at the command line: project, sample --z, interpolate --direction, export."""

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

from gan_core.cli.main import main
from gan_core.config.presets import toy_preset
from gan_core.engine.trainer import Trainer
from gan_core.quality.latent_quality import project_images
from gan_core.runs.checkpoint import load_generator, save_checkpoint
from tests.support.configs import tiny_config

# Every test here uses the module's checkpoints, whose data loads and training take ~10 s on 2 cores.
pytestmark = pytest.mark.slow

KINDS = {"plain": {}, "clusters": {"model.clusters": 4},  # conditional: on digits (8x8, 10 classes, all labelled)
         "conditional": {"model.conditional": True, "data.name": "digits", "data.limit": 0}}


def _cli(*args: str) -> int:
    try:
        return main([str(arg) for arg in args])
    except SystemExit as exit_:  # argparse's own errors
        return int(exit_.code)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One tiny checkpoint per kind of generator (3 training steps each), and a 2D toy's."""
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    configs = {name: tiny_config().with_changes(changes) for name, changes in KINDS.items()}
    configs["points"] = toy_preset("ring8").with_changes({"data.limit": 512, "model.hidden_dim": 16,
                                                          "training.device": "cpu", "training.eval_every": 0})
    for name, config in configs.items():
        trainer = Trainer(config)
        for _ in range(3):
            trainer.step()
        paths[name] = save_checkpoint(trainer.state_dict(), folder / f"{name}.pt")
    return paths


@pytest.mark.parametrize("kind", list(KINDS))
def test_project_then_sample_z_redraws_the_projections_images(kind, checkpoints, tmp_path, capsys):
    checkpoint = checkpoints[kind]
    assert _cli("sample", "--checkpoint", checkpoint, "--n", 4, "--seed", 7, "--out", tmp_path / "t.npy") == 0
    assert _cli("project", "--checkpoint", checkpoint, "--images", tmp_path / "t.npy", "--out", tmp_path / "z.npy",
                "--steps", 15, "--restarts", 2, "--seed", 1, "--feature-weight", 0) == 0
    assert "pixel MSE" in capsys.readouterr().out
    latents = np.load(tmp_path / "z.npy")
    assert latents.shape == (4, 8) and latents.dtype == np.float32
    assert (tmp_path / "z.labels.npy").exists() == (kind == "conditional")
    assert _cli("sample", "--checkpoint", checkpoint, "--z", tmp_path / "z.npy", "--out", tmp_path / "x.npy") == 0
    # The same projection in process: its latents are the file's, its reconstructions what sample --z drew.
    generator, _, _ = load_generator(checkpoint)
    targets = torch.from_numpy(np.load(tmp_path / "t.npy"))
    projection = project_images(generator, targets, 8, steps=15, restarts=2, seed=1, feature_weight=0.0)
    assert np.array_equal(projection.latents.numpy(), latents)
    assert np.allclose(np.load(tmp_path / "x.npy"), projection.reconstructions.numpy(), atol=1e-6)


def test_a_conditional_checkpoints_latents_need_their_classes(checkpoints, tmp_path, capsys):
    np.save(tmp_path / "z.npy", np.zeros((3, 8), np.float32))
    assert _cli("sample", "--checkpoint", checkpoints["conditional"], "--z", tmp_path / "z.npy",
                "--out", tmp_path / "x.npy") == 2
    assert "give --class K (0 to 9) or keep z.labels.npy" in capsys.readouterr().err
    assert _cli("sample", "--checkpoint", checkpoints["conditional"], "--z", tmp_path / "z.npy", "--class", 4,
                "--out", tmp_path / "x.npy") == 0
    np.save(tmp_path / "z.labels.npy", np.array([0, 1, 10]))
    assert _cli("sample", "--checkpoint", checkpoints["conditional"], "--z", tmp_path / "z.npy",
                "--out", tmp_path / "x.npy") == 2
    assert "classes from 0 to 10: allowed 0 to 9" in capsys.readouterr().err


def test_project_uses_the_evaluators_features_and_reports_both_distances(checkpoints, tmp_path, capsys):
    assert _cli("sample", "--checkpoint", checkpoints["clusters"], "--n", 3, "--out", tmp_path / "t.npy") == 0
    assert _cli("project", "--checkpoint", checkpoints["clusters"], "--images", tmp_path / "t.npy",
                "--out", tmp_path / "z.npy", "--steps", 5, "--restarts", 2) == 0
    out = capsys.readouterr().out
    assert "pixel MSE" in out and "feature distance" in out and "of reconstructions" in out


def test_project_finds_a_2d_toys_points(checkpoints, tmp_path, capsys):
    np.save(tmp_path / "p.npy", np.array([[1.0, 0.5], [-2.0, 0.0]], np.float32))
    assert _cli("project", "--checkpoint", checkpoints["points"], "--images", tmp_path / "p.npy",
                "--out", tmp_path / "z.npy", "--steps", 10) == 0
    assert np.load(tmp_path / "z.npy").shape == (2, 2) and "projected 2 points" in capsys.readouterr().out


def test_interpolate_along_a_direction_writes_a_strip(checkpoints, tmp_path):
    for method in ("sefa", "pca"):
        out = tmp_path / f"{method}.png"
        assert _cli("interpolate", "--checkpoint", checkpoints["clusters"], "--direction", 2, "--method", method,
                    "--range", 2.5, "--steps", 6, "--out", out) == 0
        with Image.open(out) as strip:
            assert strip.size == (6 * 30 + 2, 32)


def _bad(tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((2, 3, 28, 28), np.float32))
    np.save(tmp_path / "small.npy", np.zeros((2, 1, 14, 14), np.float32))
    np.save(tmp_path / "nan.npy", np.full((2, 1, 28, 28), np.nan, np.float32))
    np.save(tmp_path / "many.npy", np.zeros((1001, 1, 28, 28), np.uint8))
    np.save(tmp_path / "wide.npy", np.zeros((2, 9), np.float32))
    np.save(tmp_path / "z.npy", np.zeros((2, 8), np.float32))


@pytest.mark.parametrize("args,needle", [
    (["project", "--images", "rgb.npy", "--out", "z2.npy"], "--images='rgb.npy' has 3 channels: allowed 1"),
    (["project", "--images", "small.npy", "--out", "z2.npy"], "allowed N x 1 x 28 x 28 images"),
    (["project", "--images", "nan.npy", "--out", "z2.npy"], "NaN or infinite values in 2 of 2"),
    (["project", "--images", "many.npy", "--out", "z2.npy"], "with N from 1 to 1,000"),
    (["project", "--images", "missing.npy", "--out", "z2.npy"], "--images='missing.npy' is invalid"),
    (["project", "--images", "z.npy", "--out", "z2.txt"], "--out='z2.txt' is invalid"),
    (["project", "--images", "rgb.npy", "--out", "z2.npy", "--steps", "-1"], "--steps=-1"),
    (["project", "--images", "rgb.npy", "--out", "z2.npy", "--restarts", "99"], "--restarts=99"),
    (["project", "--images", "rgb.npy", "--out", "z2.npy", "--feature-weight", "nan"], "--feature-weight=nan"),
    (["sample", "--z", "wide.npy", "--out", "x.npy"], "latents of size 9: allowed N x 8"),
    (["sample", "--z", "z.npy", "--n", "3", "--out", "x.npy"], "--n is not used with --z"),
    (["sample", "--z", "nan.npy", "--out", "x.npy"], "allowed N x D"),
    (["interpolate", "--direction", "7", "--out", "s.png"], "--direction=7 is invalid: allowed an integer from 0 to 6"),
    (["interpolate", "--direction", "0", "--range", "0", "--out", "s.png"], "--range=0.0"),
    (["interpolate", "--direction", "0", "--method", "slerp", "--out", "s.png"], "--method='slerp' is invalid"),
    (["interpolate", "--direction", "0", "--to-seed", "3", "--out", "s.png"], "--to-seed is not used"),
    (["interpolate", "--from-seed", "1", "--out", "s.png"], "--to-seed is required"),
    (["interpolate", "--from-seed", "1", "--to-seed", "2", "--method", "pca", "--out", "s.png"], "--method='pca'"),
])
def test_bad_latent_arguments_exit_2_with_one_line(args, needle, checkpoints, tmp_path, monkeypatch, capsys):
    _bad(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert _cli(args[0], "--checkpoint", checkpoints["clusters"], *args[1:]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
@pytest.mark.parametrize("kind", [*KINDS, "points"])
def test_torchscript_export_reproduces_sample_on_the_same_latents(kind, checkpoints, tmp_path):
    z = torch.randn(7, 2 if kind == "points" else 8, generator=torch.Generator().manual_seed(3))
    np.save(tmp_path / "z.npy", z.numpy())
    extra = ["--class", "5"] if kind == "conditional" else []
    assert _cli("sample", "--checkpoint", checkpoints[kind], "--z", tmp_path / "z.npy", *extra,
                "--out", tmp_path / "x.npy") == 0
    assert _cli("export", "--checkpoint", checkpoints[kind], "--format", "torchscript",
                "--out", tmp_path / "g.pt") == 0
    model = torch.jit.load(str(tmp_path / "g.pt"))
    inputs = (z, torch.full((7,), 5)) if kind == "conditional" else (z,)
    with torch.no_grad():
        assert np.abs(model(*inputs).numpy() - np.load(tmp_path / "x.npy")).max() <= 1e-5


ONNX_READY = all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript", "onnxruntime"))


@pytest.mark.skipif(not ONNX_READY, reason="onnx export needs the optional onnx, onnxscript and onnxruntime packages")
def test_onnx_export_reproduces_sample_on_the_same_latents(checkpoints, tmp_path):
    import onnxruntime

    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))
    np.save(tmp_path / "z.npy", z.numpy())
    assert _cli("sample", "--checkpoint", checkpoints["clusters"], "--z", tmp_path / "z.npy",
                "--out", tmp_path / "x.npy") == 0
    assert _cli("export", "--checkpoint", checkpoints["clusters"], "--format", "onnx",
                "--out", tmp_path / "g.onnx") == 0
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"))
    (images,) = session.run(None, {"z": z.numpy()})
    assert np.abs(images - np.load(tmp_path / "x.npy")).max() <= 1e-5


@pytest.mark.skipif(all(importlib.util.find_spec(name) for name in ("onnx", "onnxscript")),
                    reason="onnx and onnxscript are installed: the missing-package message cannot show")
def test_onnx_export_without_the_optional_packages_says_what_to_install(checkpoints, tmp_path, capsys):
    assert _cli("export", "--checkpoint", checkpoints["plain"], "--format", "onnx", "--out", tmp_path / "g.onnx") == 2
    err = capsys.readouterr().err
    assert "pip install onnx" in err and err.count("\n") == 1 and not (tmp_path / "g.onnx").exists()
