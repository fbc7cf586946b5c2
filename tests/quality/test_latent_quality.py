"""The latent tools with the evaluator's classifier: projection with its features, class means, label agreement."""

import pytest
import torch

from gan_core.config.schema import DataConfig, ModelConfig
from gan_core.data.datasets import load_dataset
from gan_core.nets.models import build_models
from gan_core.quality.evaluator import Evaluator
from gan_core.quality.latent_quality import class_means, label_agreement, predicted_classes, project_images
from gan_core.views.latent import generate

DIGITS = DataConfig(name="digits")  # 1,797 labelled 8x8 images of 10 classes: the evaluator trains in seconds


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator.for_data(DIGITS)


def _generator(channels=1):
    torch.manual_seed(0)
    generator, _ = build_models(ModelConfig(latent_dim=8, hidden_dim=16, depth=1), (channels, 8, 8))
    return generator.eval()


def test_projection_with_the_evaluator_reports_both_distances(evaluator):
    targets = load_dataset(DIGITS).images[:4]
    projection = project_images(_generator(), targets, 8, evaluator, steps=5, restarts=2, candidates=64)
    assert projection.feature_distance is not None and projection.feature_distance.shape == (4,)
    assert (projection.feature_distance >= 0).all() and (projection.pixel_distance > 0).all()
    # Agreement counts the reconstructions whose class is the target's: 100% against themselves.
    assert label_agreement(evaluator, projection, targets=projection.reconstructions) == 1.0
    wanted = predicted_classes(evaluator, projection.reconstructions)
    assert label_agreement(evaluator, projection, (wanted + 1) % 10) == 0.0


def test_class_means_average_z_by_the_evaluators_class(evaluator):
    generator = _generator()
    means = class_means(generator, 8, evaluator, samples=300, seed=2)
    z = torch.randn(300, 8, generator=torch.Generator().manual_seed(2))
    classes = predicted_classes(evaluator, generate(generator, z))
    assert means.kind == "classes" and means.vectors.shape == (10, 8)
    assert means.counts.tolist() == torch.bincount(classes, minlength=10).tolist()
    top = int(means.counts.argmax())
    assert torch.allclose(means.vectors[top], z[classes == top].mean(dim=0), atol=1e-6)


def test_an_evaluator_of_other_images_is_refused(evaluator):
    with pytest.raises(ValueError, match="the evaluator reads 1-channel images"):
        project_images(_generator(channels=3), torch.zeros(1, 3, 8, 8), 8, evaluator)
