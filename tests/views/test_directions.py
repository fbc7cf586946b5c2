"""SeFa and GANSpace-style PCA directions, strips along them, and the sliders' move."""

import pytest
import torch
from torch import nn

from gan_core.config.schema import ModelConfig
from gan_core.nets.models import build_models
from gan_core.views.directions import (
    direction_path,
    direction_strip,
    directions,
    first_layer_weight,
    move,
    pca_directions,
    sefa_directions,
)


def _generator(architecture="mlp", **model):
    torch.manual_seed(0)
    config = ModelConfig(architecture=architecture, latent_dim=8, hidden_dim=16, depth=1, base_channels=4, **model)
    generator, _ = build_models(config, (1, 8, 8), num_classes=3 if model.get("conditional") else 0)
    return generator.eval()


def _dominant(generator, axis=3, scale=50.0):
    """Make z[axis] drive G's first layer far more than any other coordinate."""
    layer = next(m for m in generator.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        layer.weight[:, :8] *= 0.01
        layer.weight[:, axis] = scale * torch.linspace(-1, 1, layer.weight.shape[0])
    return generator


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_sefa_gives_orthonormal_directions_strongest_first(architecture):
    generator = _generator(architecture)
    found = sefa_directions(generator, 8)
    assert found.vectors.shape == (8, 8)
    assert torch.allclose(found.vectors @ found.vectors.T, torch.eye(8), atol=1e-5)
    assert (found.strengths[:-1] >= found.strengths[1:]).all()
    weight = first_layer_weight(generator, 8).float()
    top = (weight @ found.vectors[0]).norm()  # no unit vector moves the first layer more than the first direction
    random = torch.nn.functional.normalize(torch.randn(100, 8), dim=1)
    assert (top >= (random @ weight.T).norm(dim=1) - 1e-4).all()


@pytest.mark.parametrize("method", ["sefa", "pca"])
def test_a_dominant_latent_axis_is_the_first_direction(method):
    generator = _dominant(_generator("dcgan"))
    found = directions(generator, 8, method, samples=500)
    assert found.vectors[0].abs().argmax() == 3 and found.vectors[0].abs()[3] > 0.95
    assert torch.allclose(found.vectors.norm(dim=1), torch.ones(found.vectors.shape[0]), atol=1e-5)
    assert torch.equal(found.vectors, directions(generator, 8, method, samples=500).vectors)  # deterministic


def test_a_self_conditioned_generators_directions_keep_the_cluster():
    generator = _generator("dcgan", clusters=3)
    for method in ("sefa", "pca"):
        found = directions(generator, 8, method, samples=300)
        assert found.vectors.shape[0] == 7 and (found.vectors[:, 0] == 0).all()
        z = torch.randn(8, generator=torch.Generator().manual_seed(1))
        path = direction_path(z, found.vectors[0], extent=5.0, steps=7)
        assert (generator.clusters_for(path) == generator.clusters_for(z.unsqueeze(0))).all()


def test_a_conditional_mlp_uses_only_the_z_part_of_its_first_layer():
    generator = _generator("mlp", conditional=True)
    assert first_layer_weight(generator, 8).shape == (16, 8)
    assert pca_directions(generator, 8, samples=200).vectors.shape == (8, 8)


def test_strips_and_sliders_walk_along_a_direction():
    generator = _generator("dcgan")
    found = sefa_directions(generator, 8)
    z = torch.randn(8, generator=torch.Generator().manual_seed(2))
    path = direction_path(z, found.pick(1), extent=2.0, steps=5)
    assert torch.allclose(path[2], z) and torch.allclose(path[-1] - path[0], 4.0 * found.vectors[1], atol=1e-6)
    images = direction_strip(generator, z, found.pick(1), extent=2.0, steps=5)
    assert images.shape == (5, 1, 8, 8) and not torch.allclose(images[0], images[-1])
    moved = move(z, found.vectors[:2], torch.tensor([1.5, -0.5]))
    assert torch.allclose(moved, z + 1.5 * found.vectors[0] - 0.5 * found.vectors[1])


def test_bad_direction_index_method_range_and_steps_are_named():
    found = sefa_directions(_generator(), 8)
    with pytest.raises(ValueError, match=r"direction=8 is invalid: allowed an integer from 0 to 7"):
        found.pick(8)
    with pytest.raises(ValueError, match="method='ica'"):
        directions(_generator(), 8, "ica")
    with pytest.raises(ValueError, match="range=0"):
        direction_path(torch.zeros(8), found.vectors[0], extent=0)
    with pytest.raises(ValueError, match="steps=1"):
        direction_path(torch.zeros(8), found.vectors[0], steps=1)
