"""The latent tools at the command line: project (images -> latents), export (TorchScript or ONNX), and the
parts of sample (--z FILE.npy) and interpolate (--direction K) that use them.

Bad input raises ValueError naming the option and what is allowed; gan_core/cli/main.py turns it into one line
and exit code 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from gan_core.cli.inputs import check_out_file, class_labels, load_samples_npy

MAX_RANGE = 20.0


def add_latent_parsers(commands: Any) -> None:
    """Register the project and export subcommands."""
    project = commands.add_parser("project", help="find the latents a checkpoint's generator maps closest to images")
    project.set_defaults(handler=project_command)
    project.add_argument("--checkpoint", required=True)
    project.add_argument("--images", required=True,
                         help="IMAGES.npy: N x C x H x W in [-1, 1] as `sample` writes them (a 2D run: N x 2 points)")
    project.add_argument("--out", required=True, help="Z.npy: one latent per image (N x latent_dim); a conditional "
                         "checkpoint's classes go to Z.labels.npy beside it")
    project.add_argument("--steps", type=int, default=100, help="Adam steps per start")
    project.add_argument("--seed", type=int, default=0)
    project.add_argument("--restarts", type=int, default=4,
                         help="starts per image, from distinct classes or clusters where the generator has them")
    project.add_argument("--feature-weight", type=float, default=0.1,
                         help="weight of the evaluator's feature distance beside the pixel MSE (0: pixels only)")

    export = commands.add_parser("export", help="write the generator as TorchScript or ONNX")
    export.set_defaults(handler=export_command)
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--format", dest="file_format", choices=("torchscript", "onnx"), required=True)
    export.add_argument("--out", required=True, help="FILE (e.g. generator.pt or generator.onnx)")


def labels_path(latents_path: Path) -> Path:
    """Where a conditional projection's classes go: Z.npy -> Z.labels.npy."""
    return latents_path.with_suffix(".labels.npy")


def _existing_npy(value: str, option: str) -> Path:
    path = Path(value)
    if path.suffix != ".npy" or not path.is_file():
        raise ValueError(f"{option}={value!r} is invalid: allowed an existing .npy file")
    return path


def _save_npy(path: Path, array) -> None:
    """np.save through an atomic writer: a link at path is replaced, never written through."""
    import numpy as np

    from gan_core.files import atomic_writer

    with atomic_writer(path) as file:
        np.save(file, array)


def _feature_evaluator(config, feature_weight: float):
    """(the run's evaluator, None) for the feature loss, or (None, why not) when it is off or unavailable."""
    if feature_weight == 0:
        return None, "pixel loss only (--feature-weight 0)"
    if config.data.is_points:
        return None, "pixel loss only (2D points)"
    from gan_core.data.datasets import data_from_file
    from gan_core.quality.evaluator import Evaluator

    try:  # the checkpoint's own data, never downloaded (data_from_file)
        return Evaluator.for_data(data_from_file(config.data)), None
    except ValueError as error:  # unlabelled data, a missing folder: project on pixels alone
        return None, "pixel loss only: " + " ".join(str(error).split())[:200]


def project_command(args: argparse.Namespace) -> int:
    """`project`: the latent whose image comes closest to each image of a .npy, written as Z.npy."""
    import time

    import numpy as np
    import torch

    from gan_core.quality.latent_quality import label_agreement, project_images
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.projection import MAX_PROJECT_IMAGES, MAX_RESTARTS, MAX_STEPS, check_targets, output_shape

    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out={args.out!r} is invalid: allowed a .npy file name")
    check_out_file(out)
    if not 0 <= args.steps <= MAX_STEPS:
        raise ValueError(f"--steps={args.steps} is invalid: allowed an integer from 0 to {MAX_STEPS}")
    if not 1 <= args.restarts <= MAX_RESTARTS:
        raise ValueError(f"--restarts={args.restarts} is invalid: allowed an integer from 1 to {MAX_RESTARTS}")
    if args.seed < 0:
        raise ValueError(f"--seed={args.seed} is invalid: allowed an integer >= 0")
    if not (math.isfinite(args.feature_weight) and 0 <= args.feature_weight <= 1000):
        raise ValueError(f"--feature-weight={args.feature_weight} is invalid: allowed a number from 0 to 1000")
    images_path = _existing_npy(args.images, "--images")
    generator, config, _ = load_generator(args.checkpoint)
    label = f"--images={args.images!r}"
    array = load_samples_npy(images_path, label, max_count=MAX_PROJECT_IMAGES,
                             item="point" if config.data.is_points else "image")
    # Vetted against the generator before the evaluator is loaded (or trained, the first time).
    targets = check_targets(torch.from_numpy(np.asarray(array, dtype=np.float32)),
                            output_shape(generator, config.model.latent_dim), label)
    evaluator, note = _feature_evaluator(config, args.feature_weight)
    started = time.perf_counter()
    projection = project_images(generator, targets, config.model.latent_dim, evaluator, steps=args.steps,
                                restarts=args.restarts, seed=args.seed, feature_weight=args.feature_weight,
                                name=label)
    seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    _save_npy(out, projection.latents.numpy().astype(np.float32))
    written = [str(out)]
    if projection.label_kind == "classes":  # sample --z finds them beside Z.npy
        _save_npy(labels_path(out), projection.labels.numpy().astype(np.int64))
        written.append(str(labels_path(out)))
    pixel = projection.pixel_distance
    print(f"projected {targets.shape[0]} {'points' if config.data.is_points else 'images'} in {seconds:.1f} s "
          f"({args.restarts} restarts, {args.steps} steps){'; ' + note if note else ''}")
    print(f"pixel MSE        mean {float(pixel.mean()):.4f}  median {float(pixel.median()):.4f}")
    if projection.feature_distance is not None:
        feature = projection.feature_distance
        print(f"feature distance mean {float(feature.mean()):.4f}  median {float(feature.median()):.4f} "
              "(|f(x) - f(target)|^2 / |f(target)|^2 in the evaluator's features)")
        agreement = label_agreement(evaluator, projection, targets=targets)
        print(f"classifier gives the target's class to {agreement:.1%} of reconstructions")
    if projection.label_kind == "clusters":
        print(f"clusters found: {len(set(projection.labels.tolist()))} distinct (read off z[:, 0] by the generator)")
    print("wrote " + " and ".join(written))
    return 0


def latents_from_file(args: argparse.Namespace, generator, config):
    """`sample --z Z.npy`: (z (N, latent_dim), labels or None), from the file and, for a conditional checkpoint,
    --class or the Z.labels.npy that project wrote beside it."""
    import numpy as np
    import torch


    path = _existing_npy(args.z, "--z")
    label = f"--z={args.z!r}"
    array = load_samples_npy(path, label, item="vector")
    latent_dim = config.model.latent_dim
    if array.shape[1] != latent_dim:
        raise ValueError(f"{label} holds latents of size {array.shape[1]}: allowed N x {latent_dim} (the "
                         "checkpoint's model.latent_dim)")
    z = torch.from_numpy(np.asarray(array, dtype=np.float32))
    if not bool(torch.isfinite(z).all()):
        raise ValueError(f"{label} holds NaN or infinite values: allowed finite numbers")
    labels = class_labels(args.class_index, generator, z.shape[0])
    if labels is None and getattr(generator, "num_classes", 0):
        labels = _labels_beside(path, z.shape[0], generator.num_classes)
    return z, labels


def _labels_beside(path: Path, count: int, num_classes: int):
    """A conditional projection's classes from Z.labels.npy, vetted: (count,) integers from 0 to K - 1."""
    import numpy as np
    import torch


    beside = labels_path(path)
    if not beside.is_file():
        raise ValueError(f"--z={str(path)!r}: the checkpoint is conditional, so each latent needs a class: give "
                         f"--class K (0 to {num_classes - 1}) or keep {beside.name} (written by project) beside it")
    label = f"the classes file {str(beside)!r}"
    array = load_samples_npy(beside, label, item="labels")
    if array.dtype.kind not in "iu" or array.shape[0] != count:
        raise ValueError(f"{label} holds {array.shape[0]} {array.dtype} values: allowed {count} integers (one per "
                         "latent)")
    if count and (int(array.min()) < 0 or int(array.max()) >= num_classes):
        raise ValueError(f"{label} holds classes from {int(array.min())} to {int(array.max())}: allowed 0 to "
                         f"{num_classes - 1}")
    return torch.from_numpy(np.asarray(array, dtype=np.int64))


def direction_command(args: argparse.Namespace) -> int:
    """`interpolate --direction K`: a strip along the generator's K-th SeFa or PCA direction (0 = strongest)."""
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.directions import MAX_STRIP_STEPS, direction_strip, directions
    from gan_core.views.latent import save_strip, z_from_seed

    if not args.out.endswith(".png"):
        raise ValueError(f"--out={args.out!r} is invalid: allowed a .png file name")
    check_out_file(Path(args.out))
    method = args.method or "sefa"
    if method not in ("sefa", "pca"):
        raise ValueError(f"--method={method!r} is invalid with --direction: allowed sefa or pca")
    if args.to_seed is not None:
        raise ValueError("--to-seed is not used with --direction: the strip walks through --from-seed's latent")
    if not 2 <= args.steps <= MAX_STRIP_STEPS:
        raise ValueError(f"--steps={args.steps} is invalid: allowed an integer from 2 to {MAX_STRIP_STEPS}")
    if not (math.isfinite(args.range) and 0 < args.range <= MAX_RANGE):
        raise ValueError(f"--range={args.range} is invalid: allowed a number above 0 and at most {MAX_RANGE:g}")
    seed = 0 if args.from_seed is None else args.from_seed
    if seed < 0:
        raise ValueError(f"--from-seed={seed} is invalid: allowed an integer >= 0")
    generator, config, _ = load_generator(args.checkpoint)
    if config.data.is_points:
        raise ValueError(f"--checkpoint={args.checkpoint!r} is a 2D point run ({config.data.name}): direction strips "
                         "are images; use the dashboard's playground for its points")
    latent_dim = config.model.latent_dim
    found = directions(generator, latent_dim, method)
    direction = found.pick(args.direction, "--direction")
    label = None
    if getattr(generator, "num_classes", 0):  # one class for the whole strip: --class, else class 0
        label = int(class_labels(0 if args.class_index is None else args.class_index, generator, 1)[0])
    elif args.class_index is not None:
        class_labels(args.class_index, generator, 1)  # refuses --class for an unconditional checkpoint
    images = direction_strip(generator, z_from_seed(seed, latent_dim), direction, args.range, args.steps, label)
    save_strip(images, args.out)
    print(f"wrote a {args.steps}-image strip along {method} direction {args.direction} (range +-{args.range:g}) "
          f"to {args.out}")
    return 0


def export_command(args: argparse.Namespace) -> int:
    """`export`: the checkpoint's generator as a TorchScript or ONNX file."""
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.export import export_generator, missing_onnx_packages

    out = Path(args.out)
    check_out_file(out)
    missing = missing_onnx_packages() if args.file_format == "onnx" else []
    if missing:  # before any work: the one line says what to install
        raise ValueError(f"--format onnx needs the optional package{'s' if len(missing) > 1 else ''} "
                         f"{' and '.join(missing)}: pip install {' '.join(missing)} (or use --format torchscript)")
    generator, config, _ = load_generator(args.checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_generator(generator, config.model.latent_dim, args.file_format, out)
    inputs = f"z (N, {config.model.latent_dim}) float32"
    if getattr(generator, "num_classes", 0):
        inputs += f" and classes (N,) int64 from 0 to {generator.num_classes - 1}"
    output = "points (N, 2)" if config.data.is_points else "images (N, C, H, W) in [-1, 1]"
    print(f"wrote the generator as {args.file_format} to {out}: input {inputs}, output {output}")
    return 0
