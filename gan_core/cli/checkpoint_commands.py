"""The commands that read a checkpoint: sample, interpolate and evaluate (python -m gan_core ...).

Bad input raises ValueError naming the option and what is allowed; gan_core/cli/main.py turns it into one line
and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gan_core.cli.inputs import check_out_file, class_labels, load_samples_npy
from gan_core.config.schema import DATASET_NAMES


def add_checkpoint_parsers(commands: Any) -> None:
    """Register the sample, interpolate and evaluate subcommands."""
    sample = commands.add_parser("sample", help="generate images from a checkpoint")
    sample.set_defaults(handler=sample_command)
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--n", type=int, help="how many samples (default 64), from seeds --seed, --seed + 1, ...")
    sample.add_argument("--seed", type=int, help="the first sample's seed (default 0)")
    sample.add_argument("--z", help="Z.npy: draw these latents (N x latent_dim, as `project` writes) instead of seeds")
    sample.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npy (N x C x H x W in [-1, 1])")
    sample.add_argument("--class", dest="class_index", type=int, help="a conditional checkpoint's class to draw")

    interp = commands.add_parser("interpolate", help="a lerp/slerp strip between two seeds' latents, or a strip "
                                 "along a SeFa/PCA direction (--direction K)")
    interp.set_defaults(handler=interpolate_command)
    interp.add_argument("--checkpoint", required=True)
    interp.add_argument("--from-seed", type=int, help="the first latent's seed (with --direction: the strip's centre, "
                        "default 0)")
    interp.add_argument("--to-seed", type=int, help="the last latent's seed (not with --direction)")
    interp.add_argument("--steps", type=int, default=10)
    interp.add_argument("--method", choices=("lerp", "slerp", "sefa", "pca"),
                        help="lerp or slerp between seeds (default slerp); sefa or pca with --direction (default sefa)")
    interp.add_argument("--direction", type=int, help="K: a strip along the generator's K-th direction (0 the strongest)")
    interp.add_argument("--range", type=float, default=3.0, help="with --direction: walk from -R to +R along it")
    interp.add_argument("--out", required=True, help="FILE.png")
    interp.add_argument("--class", dest="class_index", type=int, help="a conditional checkpoint's class to draw")

    evaluate = commands.add_parser("evaluate", help="score samples: FID, class coverage, precision/recall")
    evaluate.set_defaults(handler=evaluate_command)
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="generate from this checkpoint")
    source.add_argument("--samples", help="score a FILE.npy of N x C x H x W floats in [-1, 1] made elsewhere")
    evaluate.add_argument("--n", type=int, default=2000, help="samples to generate from the checkpoint")
    evaluate.add_argument("--dataset", choices=DATASET_NAMES, default="mnist5k",
                          help="real data to compare --samples with (a checkpoint uses its own)")
    evaluate.add_argument("--json", help="also write the scores to this file")
    evaluate.add_argument("--download", action="store_true",
                          help="let the data set download (a checkpoint's own config never does)")


def sample_command(args: argparse.Namespace) -> int:
    """`sample`: a grid (.png) or an array (.npy) of samples from a checkpoint; 2D runs give points."""
    import numpy as np

    from gan_core.data.datasets import data_from_file, load_dataset
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.latent import generate, image_grid, save_png, zs_from_seeds
    from gan_core.views.point_plot import scatter_image

    out = Path(args.out)
    if out.suffix not in (".png", ".npy"):
        raise ValueError(f"--out={args.out!r} is invalid: allowed a .png or .npy file name")
    check_out_file(out)
    if args.z is not None:
        given = [name for name in ("n", "seed") if getattr(args, name) is not None]
        if given:
            raise ValueError(f"--{given[0]} is not used with --z: the file gives the latents (leave --{given[0]} out)")
    else:
        args.n, args.seed = 64 if args.n is None else args.n, 0 if args.seed is None else args.seed
        if not 1 <= args.n <= 100000:
            raise ValueError(f"--n={args.n} is invalid: allowed an integer from 1 to 100000")
        if args.seed < 0:
            raise ValueError(f"--seed={args.seed} is invalid: allowed an integer >= 0")
    generator, config, _ = load_generator(args.checkpoint)
    if args.z is not None:  # latents from `project` (or anywhere): N x latent_dim, classes beside them
        from gan_core.cli.latent_commands import latents_from_file

        z, labels = latents_from_file(args, generator, config)
        args.n = z.shape[0]
    else:
        # Sample i uses seed + i, so one seed names one image whatever --n is.
        z = zs_from_seeds(range(args.seed, args.seed + args.n), config.model.latent_dim)
        labels = class_labels(args.class_index, generator, args.n)
    images = generate(generator, z, labels=labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, images.numpy().astype(np.float32))  # (N, C, H, W) in [-1, 1]; 2D runs: (N, 2) points
    elif config.data.is_points:  # a scatter of the points over the run's data, as its samples/ grids
        save_png(scatter_image(images, load_dataset(data_from_file(config.data)).images), out)
    else:
        save_png(image_grid(images), out)
    print(f"wrote {args.n} samples to {out}")
    return 0


def interpolate_command(args: argparse.Namespace) -> int:
    """`interpolate`: a lerp/slerp strip of images between two seeds' latents."""
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.latent import generate, interpolate, save_strip, z_from_seed

    if args.direction is not None:
        from gan_core.cli.latent_commands import direction_command

        return direction_command(args)
    args.method = args.method or "slerp"
    if args.method not in ("lerp", "slerp"):
        raise ValueError(f"--method={args.method!r} is invalid between two seeds: allowed lerp or slerp (sefa and "
                         "pca go with --direction K)")
    for name in ("from_seed", "to_seed"):
        if getattr(args, name) is None:
            raise ValueError(f"--{name.replace('_', '-')} is required: give --from-seed and --to-seed (or "
                             "--direction K for a strip along a direction)")
    if not args.out.endswith(".png"):
        raise ValueError(f"--out={args.out!r} is invalid: allowed a .png file name")
    check_out_file(Path(args.out))
    if not 2 <= args.steps <= 256:
        raise ValueError(f"--steps={args.steps} is invalid: allowed an integer from 2 to 256")
    for name in ("from_seed", "to_seed"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')}={getattr(args, name)} is invalid: allowed an integer >= 0")
    generator, config, _ = load_generator(args.checkpoint)
    if config.data.is_points:
        raise ValueError(f"--checkpoint={args.checkpoint!r} is a 2D point run ({config.data.name}): interpolate "
                         "draws image strips; use sample --out FILE.png for its points, or the dashboard's playground")
    latent_dim = config.model.latent_dim
    path = interpolate(z_from_seed(args.from_seed, latent_dim), z_from_seed(args.to_seed, latent_dim),
                       args.steps, args.method)
    save_strip(generate(generator, path, labels=class_labels(args.class_index, generator, args.steps)), args.out)
    print(f"wrote a {args.steps}-image {args.method} strip to {args.out}")
    return 0


def _checkpoint_samples(args: argparse.Namespace, generator, config):
    """(images (N, C, H, W), the data to compare with, the classes asked of a conditional G or None)."""
    from gan_core.data.datasets import data_from_file
    from gan_core.quality.evaluator import conditional_inputs
    from gan_core.views.latent import generate, zs_from_seeds

    if not 10 <= args.n <= 100000:
        raise ValueError(f"--n={args.n} is invalid: allowed an integer from 10 to 100000")
    # The checkpoint's own config never downloads (nor creates data.root); only --download does.
    data_config = data_from_file(config.data, args.download)
    if generator.num_classes:  # balanced classes from fixed seeds; scored per class
        z, requested = conditional_inputs(args.n, generator.num_classes, config.model.latent_dim)
        return generate(generator, z, labels=requested), data_config, requested
    return generate(generator, zs_from_seeds(range(args.n), config.model.latent_dim)), data_config, None


def _file_samples(args: argparse.Namespace):
    """(images from --samples, the --dataset to compare with, None): a vetted .npy of finite values."""
    import numpy as np
    import torch

    from gan_core.config.schema import DataConfig

    path = Path(args.samples)
    if path.suffix != ".npy" or not path.is_file():
        raise ValueError(f"--samples={args.samples!r} is invalid: allowed an existing .npy file")
    array = load_samples_npy(path, f"--samples={args.samples!r}")
    images = torch.from_numpy(np.asarray(array, dtype=np.float32))
    if not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).flatten(1).any(dim=1).sum()) if images.ndim > 1 else -1
        raise ValueError(f"--samples={args.samples!r} holds NaN or infinite values"
                         + (f" in {bad} of {images.shape[0]} images" if bad >= 0 else ""))
    return images, DataConfig(name=args.dataset, download=args.download), None


def evaluate_command(args: argparse.Namespace) -> int:
    """`evaluate`: FID, coverage, precision/recall of a checkpoint's samples or a .npy (2D runs: toy metrics)."""
    import json

    from gan_core.data.datasets import load_dataset
    from gan_core.quality.evaluator import Evaluator

    if args.checkpoint:
        from gan_core.runs.checkpoint import load_generator

        generator, config, _ = load_generator(args.checkpoint)
        if config.data.is_points:
            return _evaluate_points(generator, config, args)
        images, data_config, requested = _checkpoint_samples(args, generator, config)
    else:
        images, data_config, requested = _file_samples(args)
    dataset = load_dataset(data_config)
    if images.ndim != 4 or tuple(images.shape[1:]) != dataset.image_shape:
        raise ValueError(f"samples have shape {tuple(images.shape)}: allowed N x "
                         f"{' x '.join(map(str, dataset.image_shape))} for {data_config.name}")
    if images.shape[0] < 10 or images.min() < -1.0001 or images.max() > 1.0001:
        raise ValueError("samples must be at least 10 images with values in [-1, 1]")
    evaluator = Evaluator.for_data(data_config, dataset=dataset)
    scores = evaluator.score(images)
    reference = evaluator.reference(dataset.images)
    print(f"classifier: held-out accuracy {evaluator.accuracy:.3f} on {data_config.name}"
          + (f" (trained in {evaluator.train_seconds:.1f} s, now cached)" if evaluator.trained_now else " (cached)"))
    for key in ("fid", "classes_covered", "kl_uniform", "precision", "recall", "diversity"):
        print(f"{key:<16} {scores[key]:>10.4f}   real data: {reference[key]:.4f}")
    print("class shares     " + " ".join(f"{share:.3f}" for share in scores["class_shares"]))
    if requested is not None:  # a conditional checkpoint: does each sample show the class it was asked for?
        scores.update(evaluator.conditional_scores(images, requested, dataset.labels))
        print(f"conditional accuracy {scores['conditional_accuracy']:.4f} (chance {1 / len(scores['per_class_fid']):.4f})")
        print("per-class FID    " + " ".join(f"{value:.1f}" for value in scores["per_class_fid"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": scores, "real": reference,
                                               "accuracy": evaluator.accuracy}, indent=2))
    return 0


def _evaluate_points(generator, config, args: argparse.Namespace) -> int:
    """`evaluate` for a 2D run: modes covered, share near a mode, KL and JS against its data (toy_metrics)."""
    import json

    import torch

    from gan_core.data.datasets import data_from_file, load_dataset
    from gan_core.quality.toy_metrics import toy_quality
    from gan_core.views.latent import generate

    if not 10 <= args.n <= 100000:
        raise ValueError(f"--n={args.n} is invalid: allowed an integer from 10 to 100000")
    dataset = load_dataset(data_from_file(config.data))  # points: nothing to download, but one rule for files
    noise = torch.randn(args.n, config.model.latent_dim, generator=torch.Generator().manual_seed(0))
    row = toy_quality(dataset.images, generate(generator, noise), dataset.modes, dataset.mode_std).row()
    print(f"2D data set {config.data.name}: {args.n} samples against {len(dataset)} points")
    for key, value in row.items():
        print(f"{key:<20} {value:>10.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"samples": row}, indent=2))
    return 0
