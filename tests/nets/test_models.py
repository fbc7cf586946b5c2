import pytest
import torch

from gan_core.config.schema import ModelConfig
from gan_core.nets.models import build_models, has_batch_norm


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
@pytest.mark.parametrize("size", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("norm", ["none", "batch", "spectral"])
def test_output_shapes(architecture, size, channels, norm):
    config = ModelConfig(architecture=architecture, latent_dim=16, hidden_dim=32, base_channels=8,
                         discriminator_norm=norm)
    generator, discriminator = build_models(config, (channels, size, size))
    z = torch.randn(5, 16)
    images = generator(z)
    assert images.shape == (5, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1  # Tanh output
    logits = discriminator(images)
    assert logits.shape == (5,)
    # Logits, not probabilities: an untrained D need not stay inside [0, 1], and must not end in Sigmoid.
    assert not isinstance(list(discriminator.modules())[-1], torch.nn.Sigmoid)


def test_seed_mlp_layer_sizes():
    generator, discriminator = build_models(ModelConfig(), (1, 28, 28))
    g_linears = [m for m in generator.modules() if isinstance(m, torch.nn.Linear)]
    d_linears = [m for m in discriminator.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in g_linears] == [(64, 256), (256, 256), (256, 784)]
    assert [(m.in_features, m.out_features) for m in d_linears] == [(784, 256), (256, 256), (256, 1)]
    assert any(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in discriminator.modules())


def test_dcgan_rejects_unsupported_sizes():
    with pytest.raises(ValueError, match="data.image_size=30"):
        build_models(ModelConfig(architecture="dcgan"), (1, 30, 30))


def test_batch_norm_detection():
    _, with_bn = build_models(ModelConfig(architecture="dcgan", discriminator_norm="batch"), (1, 28, 28))
    _, without = build_models(ModelConfig(architecture="dcgan", discriminator_norm="spectral"), (1, 28, 28))
    assert has_batch_norm(with_bn) and not has_batch_norm(without)
