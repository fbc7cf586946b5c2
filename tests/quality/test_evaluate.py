"""The evaluator: FID, coverage, precision/recall in the project's own classifier features, and its cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_core.cli.main import main as cli
from gan_core.config.schema import DataConfig
from gan_core.data.datasets import load_dataset
from gan_core.quality.evaluator import EvaluationUnavailable, Evaluator, coverage, fid

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def mnist():
    return load_dataset(DataConfig(name="mnist5k"))


@pytest.fixture(scope="module")
def evaluator(mnist, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    first = Evaluator.for_data(DataConfig(name="mnist5k"), cache_dir=cache, dataset=mnist)
    assert first.trained_now and first.accuracy > 0.9  # held-out accuracy of the feature classifier
    return first, cache


def _sample(mnist, count=1000, seed=1):
    return mnist.images[torch.randperm(len(mnist), generator=torch.Generator().manual_seed(seed))[:count]]


@pytest.mark.slow
def test_cache_is_reused_without_retraining(evaluator, mnist):
    first, cache = evaluator
    again = Evaluator.for_data(DataConfig(name="mnist5k"), cache_dir=cache, dataset=mnist)
    assert not again.trained_now and again.accuracy == first.accuracy
    assert torch.equal(again.real_features, first.real_features)
    assert len(list(cache.iterdir())) == 1


@pytest.mark.slow
def test_fid_is_zero_for_a_set_against_itself(evaluator, mnist):
    features = evaluator[0].features(_sample(mnist))
    assert abs(fid(features, features)) < 1e-3  # float64 rounding of a trace in the hundreds
    assert evaluator[0].reference(mnist.images)["fid"] < 3.0  # two real halves: the floor


@pytest.mark.slow
def test_fid_grows_monotonically_with_noise_and_blur(evaluator, mnist):
    images = _sample(mnist)
    noisy = [evaluator[0].score((images + s * torch.randn_like(images)).clamp(-1, 1))["fid"]
             for s in (0.0, 0.2, 0.5, 1.0)]
    assert noisy == sorted(noisy) and noisy[-1] > 10 * (noisy[0] + 1)
    blurred = [evaluator[0].score(F.avg_pool2d(images, k, stride=1, padding=k // 2))["fid"] for k in (1, 3, 5, 7)]
    assert blurred == sorted(blurred)


@pytest.mark.slow
def test_coverage_flags_one_class_and_passes_a_uniform_set(evaluator, mnist):
    one_class = mnist.images[mnist.labels == 3][:400]
    scores = evaluator[0].score(one_class)
    assert scores["classes_covered"] == 1 and scores["kl_uniform"] > 2.0
    uniform = evaluator[0].score(_sample(mnist, 2000))
    assert uniform["classes_covered"] == 10 and uniform["kl_uniform"] < 0.02
    assert coverage(torch.tensor([0, 0, 1, 1]), 2) == {"class_shares": [0.5, 0.5], "classes_covered": 2,
                                                        "kl_uniform": 0.0}


@pytest.mark.slow
def test_precision_recall_near_one_for_real_and_recall_falls_for_one_class(evaluator, mnist):
    real = evaluator[0].score(_sample(mnist, 2000))
    assert real["precision"] > 0.85 and real["recall"] > 0.85
    one_class = evaluator[0].score(mnist.images[mnist.labels == 3][:400])
    assert one_class["recall"] < 0.4 and one_class["precision"] > 0.8


def test_unlabelled_data_says_plainly_it_is_unavailable(tmp_path):
    from PIL import Image

    Image.new("L", (28, 28), 128).save(tmp_path / "a.png")
    with pytest.raises(EvaluationUnavailable, match="no labels"):
        Evaluator.for_data(DataConfig(name="folder", path=str(tmp_path), image_size=28, channels=1),
                           cache_dir=tmp_path / "cache")


@pytest.mark.slow
def test_cli_scores_samples_made_elsewhere(evaluator, mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_WORKBENCH_CACHE", str(evaluator[1]))
    np.save(tmp_path / "real.npy", _sample(mnist, 500).numpy())
    assert cli(["evaluate", "--samples", str(tmp_path / "real.npy")]) == 0
    out = capsys.readouterr().out
    assert "(cached)" in out and "fid" in out and "real data" in out
    np.save(tmp_path / "bad.npy", np.zeros((20, 3, 28, 28), dtype=np.float32))
    assert cli(["evaluate", "--samples", str(tmp_path / "bad.npy")]) == 2
    assert "allowed N x 1 x 28 x 28" in capsys.readouterr().err


def test_a_folder_whose_images_change_gets_a_new_cached_classifier(tmp_path):
    from PIL import Image

    from gan_core.config.schema import DataConfig
    from gan_core.quality.evaluator import cached_evaluator_path

    folder = tmp_path / "images" / "a"
    folder.mkdir(parents=True)
    Image.new("L", (8, 8), 10).save(folder / "0.png")
    config = DataConfig(name="folder", path=str(tmp_path / "images"))
    first = cached_evaluator_path(config, tmp_path)
    assert cached_evaluator_path(config, tmp_path) == first  # stable while nothing changes
    Image.new("L", (8, 8), 200).save(folder / "1.png")  # an upload replaced under the same name, say
    assert cached_evaluator_path(config, tmp_path) != first
