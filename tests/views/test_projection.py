"""Projection of images (and 2D points) into a generator's latent space: unconditional, conditional (the class is
found too) and self-conditioned (clusters searched, z[:, 0] kept inside the cluster's slice)."""

import re

import pytest
import torch

from gan_core.config.schema import ModelConfig
from gan_core.nets.models import build_models
from gan_core.views.codes import latent_codes
from gan_core.views.projection import MAX_PROJECT_IMAGES, project


def _generator(latent_dim=8, **model):
    torch.manual_seed(0)
    config = ModelConfig(**{"architecture": "mlp", "latent_dim": latent_dim, "hidden_dim": 32, "depth": 1, **model})
    generator, _ = build_models(config, (1, 8, 8), num_classes=4 if model.get("conditional") else 0)
    return generator.eval()


def _seeded(count, dim, seed):
    return torch.randn(count, dim, generator=torch.Generator().manual_seed(seed))


def test_projecting_a_generators_own_images_finds_latents_that_redraw_them():
    generator = _generator()
    with torch.no_grad():
        targets = generator(_seeded(3, 8, 1))
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    generator.train()
    projection = project(generator, targets, 8, steps=150, restarts=3, candidates=256, learning_rate=0.1)
    assert generator.training  # its mode is restored
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())  # weights untouched
    assert all(p.grad is None for p in generator.parameters())
    assert projection.label_kind == "none" and projection.labels is None and projection.feature_distance is None
    assert float(projection.pixel_distance.max()) < 2e-3
    with torch.no_grad():
        assert torch.allclose(generator.eval()(projection.latents), projection.reconstructions, atol=1e-6)
    # The optimisation's path: start first, then latents along the way; the found one is no worse than its start.
    assert projection.path.shape == (3, len(projection.path_steps), 8) and projection.path_steps[0] == 0
    assert torch.isfinite(projection.path).all()  # the winners' paths are whole (halving drops losers only)
    with torch.no_grad():
        start_error = (generator(projection.path[:, 0]) - targets).pow(2).flatten(1).mean(1)
    assert (projection.pixel_distance <= start_error.double() + 1e-9).all()


def test_projection_works_inside_a_callers_inference_mode():
    generator = _generator()
    with torch.inference_mode():
        targets = generator(_seeded(1, 8, 6))
        projection = project(generator, targets, 8, steps=30, restarts=1, candidates=32)
    start = project(generator, targets.clone(), 8, steps=0, restarts=1, candidates=32)
    assert float(projection.pixel_distance[0]) < float(start.pixel_distance[0])


def test_projection_is_deterministic_for_a_seed():
    generator = _generator()
    targets = torch.rand(2, 1, 8, 8) * 2 - 1
    first = project(generator, targets, 8, steps=10, restarts=2, candidates=64, seed=3)
    again = project(generator, targets, 8, steps=10, restarts=2, candidates=64, seed=3)
    assert torch.equal(first.latents, again.latents)


def test_a_conditional_generator_gets_the_class_found_too():
    generator = _generator(conditional=True)
    classes = torch.tensor([0, 3, 2])
    with torch.no_grad():
        targets = generator(_seeded(3, 8, 2), classes)
    projection = project(generator, targets, 8, steps=60, restarts=4, candidates=400)
    assert projection.label_kind == "classes" and projection.labels.tolist() == classes.tolist()
    z, labels = projection.generator_inputs()
    with torch.no_grad():
        assert torch.allclose(generator(z, labels), projection.reconstructions, atol=1e-6)
    assert float(projection.pixel_distance.max()) < 0.01


def test_a_self_conditioned_generator_searches_the_clusters_and_z_alone_redraws():
    generator = _generator(clusters=5)
    generator.set_cluster_shares(torch.tensor([0.05, 0.4, 0.2, 0.3, 0.05]))
    z = _seeded(4, 8, 3)
    with torch.no_grad():
        targets = generator(z)
    projection = project(generator, targets, 8, steps=60, restarts=3, candidates=500)
    assert projection.label_kind == "clusters"
    assert projection.labels.tolist() == generator.clusters_for(z).tolist()  # the true clusters are found
    # Each latent's z[:, 0] lies in its cluster's slice, so the generator reads the same cluster off z alone.
    assert torch.equal(generator.clusters_for(projection.latents), projection.labels)
    assert all(torch.equal(generator.clusters_for(projection.path[:, i]), projection.labels)
               for i in range(projection.path.shape[1]))
    with torch.no_grad():
        assert torch.allclose(generator(projection.latents), projection.reconstructions, atol=1e-6)
    assert float(projection.pixel_distance.max()) < 0.01


def test_clusters_without_share_are_never_tried():
    generator = _generator(clusters=4)
    generator.set_cluster_shares(torch.tensor([0.5, 0.0, 0.5, 0.0]))
    codes = latent_codes(generator)
    assert codes.usable() == [0, 2]
    projection = project(generator, torch.zeros(2, 1, 8, 8), 8, steps=3, restarts=4, candidates=40)
    assert set(projection.labels.tolist()) <= {0, 2}


def test_a_feature_function_adds_the_feature_distance_to_loss_and_report():
    generator = _generator()
    weights = torch.randn(64, 16, generator=torch.Generator().manual_seed(4))
    features = lambda images: torch.relu(images.flatten(1) @ weights)
    targets = torch.rand(2, 1, 8, 8) * 2 - 1
    projection = project(generator, targets, 8, steps=20, restarts=2, candidates=64, feature_function=features,
                         feature_weight=1.0)
    found, wanted = features(projection.reconstructions), features(targets)
    expected = (found - wanted).pow(2).sum(1) / wanted.pow(2).sum(1)
    assert torch.allclose(projection.feature_distance, expected.double(), rtol=1e-4)
    assert projection.pixel_distance.shape == (2,)


def test_a_2d_point_generator_projects_points():
    torch.manual_seed(0)
    generator, _ = build_models(ModelConfig(architecture="mlp", latent_dim=2, hidden_dim=32, depth=2), (2,))
    with torch.no_grad():
        targets = generator(_seeded(5, 2, 5))
    projection = project(generator.eval(), targets, 2, steps=100, restarts=3, candidates=200)
    assert projection.reconstructions.shape == (5, 2)
    assert float(projection.pixel_distance.max()) < 1e-4


@pytest.mark.parametrize("make,needle", [
    (lambda: torch.zeros(2, 3, 8, 8), "has 3 channels: allowed 1"),
    (lambda: torch.zeros(2, 1, 16, 16), "allowed N x 1 x 8 x 8 images"),
    (lambda: torch.full((2, 1, 8, 8), float("nan")), "NaN or infinite values in 2 of 2"),
    (lambda: torch.full((2, 1, 8, 8), 3.0), "allowed images in [-1, 1]"),
    (lambda: torch.zeros(MAX_PROJECT_IMAGES + 1, 1, 8, 8), f"allowed 1 to {MAX_PROJECT_IMAGES}"),
    (lambda: torch.zeros(0, 1, 8, 8), "allowed 1 to"),
])
def test_bad_targets_get_one_clear_error(make, needle):
    with pytest.raises(ValueError, match=re.escape(needle)) as error:
        project(_generator(), make(), 8, steps=1, name="upload")
    assert str(error.value).startswith("upload ") and "\n" not in str(error.value)


@pytest.mark.parametrize("options,needle", [({"steps": -1}, "steps=-1"), ({"restarts": 0}, "restarts=0"),
                                            ({"feature_weight": -1.0}, "feature_weight=-1.0")])
def test_bad_options_are_named(options, needle):
    with pytest.raises(ValueError, match=needle):
        project(_generator(), torch.zeros(1, 1, 8, 8), 8, **options)


def test_a_latent_size_that_does_not_fit_is_named():
    with pytest.raises(ValueError, match="latent_dim=5 does not fit"):
        project(_generator(), torch.zeros(1, 1, 8, 8), 5)
