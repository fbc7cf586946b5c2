"""Class morphs (soft class mixes in conditional generators), latent arithmetic and walks between projections."""

import pytest
import torch
import torch.nn.functional as F

from gan_core.config.schema import ModelConfig
from gan_core.nets.models import ConditionalBatchNorm, build_models
from gan_core.views.morphs import arithmetic, class_mix, class_morph, latent_means, parse_expression, projection_walk
from gan_core.views.projection import project


def _conditional(architecture: str, clusters: int = 0):
    torch.manual_seed(0)
    config = ModelConfig(architecture=architecture, latent_dim=8, hidden_dim=16, depth=1, base_channels=4,
                         conditional=not clusters, clusters=clusters)
    generator, _ = build_models(config, (1, 8, 8), num_classes=3)
    return generator.eval()


def _integer_reference(generator, z, labels):
    """The conditional generators' integer-label forward as written before soft mixes (rows looked up)."""
    if hasattr(generator, "embed"):  # MLP: [z, embed(labels)] through the net
        return generator.net(torch.cat([z, generator.embed.weight[labels]], dim=1)).view(z.shape[0], 1, 8, 8)

    def through(layers, x):
        for layer in layers:
            if isinstance(layer, ConditionalBatchNorm):
                shape = (x.shape[0], -1) + (1,) * (x.dim() - 2)
                x = layer.norm(x) * layer.scale.weight[labels].view(shape) + layer.shift.weight[labels].view(shape)
            else:
                x = layer(x)
        return x

    return through(generator.net, through(generator.project, z).view(z.shape[0], *generator.start_shape))


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_soft_class_mix_is_bit_identical_for_one_hot_and_integer_labels(architecture):
    generator = _conditional(architecture)
    keys_before = sorted(generator.state_dict())
    z, labels = torch.randn(6, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 2, 1, 0])
    with torch.no_grad():
        integer = generator(z, labels)
        assert torch.equal(integer, _integer_reference(generator, z, labels))  # outputs as before, bit for bit
        assert torch.equal(generator(z, F.one_hot(labels, 3).float()), integer)
        half = generator(z, 0.5 * F.one_hot(labels, 3).float() + 0.5 * F.one_hot((labels + 1) % 3, 3).float())
    assert not torch.allclose(half, integer)
    assert sorted(generator.state_dict()) == keys_before  # checkpoints keep their keys


def test_class_morph_goes_from_class_a_to_class_b():
    generator = _conditional("dcgan")
    z = torch.randn(8, generator=torch.Generator().manual_seed(2))
    images = class_morph(generator, z, 0, 2, steps=5)
    with torch.no_grad():
        ends = generator(z.expand(2, -1), torch.tensor([0, 2]))
    assert images.shape == (5, 1, 8, 8)
    # (a batch of 5 and one of 2 may round differently: same values, not the same bits)
    assert torch.allclose(images[0], ends[0], atol=1e-6) and torch.allclose(images[-1], ends[1], atol=1e-6)
    assert not torch.allclose(images[2], images[0]) and not torch.allclose(images[2], images[-1])


def test_self_conditioned_clusters_morph_too_and_unconditional_is_refused():
    generator = _conditional("mlp", clusters=3)
    images = class_morph(generator, torch.zeros(8), 1, 2, steps=3)
    with torch.no_grad():
        assert torch.allclose(images[-1:], generator(torch.zeros(1, 8), torch.tensor([2])), atol=1e-6)
    plain, _ = build_models(ModelConfig(latent_dim=8, hidden_dim=16, depth=1), (1, 8, 8))
    with pytest.raises(ValueError, match="class morphs need a conditional"):
        class_morph(plain, torch.zeros(8), 0, 1)


@pytest.mark.parametrize("args,needle", [((3, 0, 5), "class_a=3"), ((0, -1, 5), "class_b=-1"),
                                         ((0, 1, 1), "steps=1")])
def test_class_mix_names_the_bad_argument(args, needle):
    with pytest.raises(ValueError, match=needle):
        class_mix(args[0], args[1], 3, args[2])


def test_arithmetic_adds_and_subtracts_named_latents():
    vectors = {"class1": torch.ones(4), "class7": torch.arange(4.0), "z": torch.full((4,), 2.0)}
    result = arithmetic("z + class7 - 0.5*class1", vectors)
    assert torch.allclose(result, torch.full((4,), 2.0) + torch.arange(4.0) - 0.5)
    assert parse_expression("-class1", vectors) == [(-1.0, "class1")]


@pytest.mark.parametrize("expression,needle", [("class1 + class9", "names 'class9'"), ("class1 class7", "character"),
                                               ("", "empty"), ("class1 + * 2", "character")])
def test_arithmetic_refuses_unknown_names_and_bad_syntax(expression, needle):
    with pytest.raises(ValueError, match=needle):
        arithmetic(expression, {"class1": torch.ones(4), "class7": torch.ones(4)})


def test_cluster_means_stay_in_their_cluster():
    generator = _conditional("mlp", clusters=3)
    generator.set_cluster_shares(torch.tensor([0.2, 0.5, 0.3]))
    means = latent_means(generator, 8, samples=600)
    assert means.kind == "clusters" and int(means.counts.sum()) == 600
    assert torch.equal(generator.clusters_for(means.vectors), torch.arange(3))  # a mean of a slice lies inside it
    assert set(means.as_mapping()) == {"cluster0", "cluster1", "cluster2"}


def test_class_means_average_the_z_of_each_predicted_class():
    generator = _conditional("mlp", clusters=3)
    classify = lambda images: (images.flatten(1).mean(dim=1) > 0).long()
    means = latent_means(generator, 8, classify, num_classes=3, samples=200, seed=4)
    z = torch.randn(200, 8, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        groups = classify(generator(z))
    assert means.kind == "classes" and means.counts.tolist() == torch.bincount(groups, minlength=3).tolist()
    assert torch.allclose(means.vectors[1], z[groups == 1].mean(dim=0), atol=1e-6)
    assert torch.isnan(means.vectors[2]).all() and "class2" not in means.as_mapping()  # no sample: no mean


def test_a_walk_between_two_projections_starts_and_ends_at_their_reconstructions():
    generator = _conditional("dcgan")
    with torch.no_grad():
        targets = generator(torch.randn(2, 8, generator=torch.Generator().manual_seed(5)), torch.tensor([0, 2]))
    projection = project(generator, targets, 8, steps=5, restarts=2, candidates=60)
    latents, images = projection_walk(generator, projection, 0, 1, steps=4)
    assert latents.shape == (4, 8)
    assert torch.allclose(images[0], projection.reconstructions[0], atol=1e-6)
    assert torch.allclose(images[-1], projection.reconstructions[1], atol=1e-6)
    with pytest.raises(ValueError, match="second=2"):
        projection_walk(generator, projection, 0, 2)
