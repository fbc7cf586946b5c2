"""The latent tools with the evaluator's classifier: projection with a feature loss, class means of z sorted by
the classifier, and how well projections keep their targets' classes. The tools themselves live in views/
(below quality in the layers); this module hands them the classifier as plain functions."""

from __future__ import annotations

import torch
from torch import nn

from gan_core.quality.evaluator import Evaluator
from gan_core.views.morphs import LatentMeans, latent_means
from gan_core.views.projection import FeatureFunction, Projection, output_shape, project


def feature_function(evaluator: Evaluator) -> FeatureFunction:
    """The classifier's 128-d features as a differentiable function of images (B, C, H, W) in [-1, 1].

    Only the images get gradients (projection asks autograd for z's alone), so the classifier stays as cached."""
    body = evaluator.classifier.body
    device = next(body.parameters()).device  # the CPU: a generator on a GPU hands its images over (with grads)
    return lambda images: body(images.float().to(device))


def predicted_classes(evaluator: Evaluator, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The classifier's class for each image (N,) int64."""
    out = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            out.append(evaluator.classifier(images[start: start + batch_size].float().cpu())[1].argmax(dim=1))
    return torch.cat(out)


def check_channels(evaluator: Evaluator, shape: tuple[int, ...]) -> None:
    """ValueError unless the classifier reads images of the generator's channels."""
    channels = evaluator.classifier.body[0].in_channels
    if len(shape) != 3 or shape[0] != channels:
        raise ValueError(f"the evaluator reads {channels}-channel images, the generator makes {shape}: use the "
                         "evaluator of the run's own data set")


def project_images(generator: nn.Module, targets: torch.Tensor, latent_dim: int, evaluator: Evaluator | None = None,
                   **options) -> Projection:
    """views.projection.project with the evaluator's features in the loss where one is given (pixel loss only
    otherwise, or for 2D points); options: steps, restarts, candidates, seed, feature_weight, learning_rate."""
    features = None
    shape = output_shape(generator, latent_dim)
    if evaluator is not None and len(shape) == 3:  # 2D points: pixels (coordinates) alone
        check_channels(evaluator, shape)
        features = feature_function(evaluator)
    return project(generator, targets, latent_dim, feature_function=features, **options)


def class_means(generator: nn.Module, latent_dim: int, evaluator: Evaluator | None = None, samples: int = 2000,
                seed: int = 0) -> LatentMeans:
    """Mean z of the samples the evaluator puts in each class; without an evaluator, a self-conditioned G's
    cluster means (ValueError when neither is possible)."""
    if evaluator is None:
        return latent_means(generator, latent_dim, samples=samples, seed=seed)
    return latent_means(generator, latent_dim, lambda images: predicted_classes(evaluator, images),
                        evaluator.num_classes, samples, seed)


def label_agreement(evaluator: Evaluator, projection: Projection, target_labels: torch.Tensor | None = None,
                    targets: torch.Tensor | None = None) -> float:
    """The share of reconstructions the classifier puts in the target's class: the given labels (N,), or else
    the classifier's own reading of the targets."""
    if target_labels is None:
        if targets is None:
            raise ValueError("label_agreement needs target_labels or the targets themselves")
        target_labels = predicted_classes(evaluator, targets)
    found = predicted_classes(evaluator, projection.reconstructions)
    return float((found == target_labels.long().cpu()).double().mean())
