"""The commands that read a checkpoint: sample, interpolate and evaluate (python -m gan_core ...).

Bad input raises ValueError naming the option and what is allowed; gan_core/cli/main.py turns it into one line
and exit code 2.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from gan_core.config.schema import DATASET_NAMES


def add_checkpoint_parsers(commands: Any) -> None:
    """Register the sample, interpolate and evaluate subcommands."""
    sample = commands.add_parser("sample", help="generate images from a checkpoint")
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npy (N x C x H x W in [-1, 1])")
    sample.add_argument("--class", dest="class_index", type=int, help="a conditional checkpoint's class to draw")

    interp = commands.add_parser("interpolate", help="a lerp/slerp strip between two seeds' latents")
    interp.add_argument("--checkpoint", required=True)
    interp.add_argument("--from-seed", type=int, required=True)
    interp.add_argument("--to-seed", type=int, required=True)
    interp.add_argument("--steps", type=int, default=10)
    interp.add_argument("--method", choices=("lerp", "slerp"), default="slerp")
    interp.add_argument("--out", required=True, help="FILE.png")
    interp.add_argument("--class", dest="class_index", type=int, help="a conditional checkpoint's class to draw")

    evaluate = commands.add_parser("evaluate", help="score samples: FID, class coverage, precision/recall")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="generate from this checkpoint")
    source.add_argument("--samples", help="score a FILE.npy of N x C x H x W floats in [-1, 1] made elsewhere")
    evaluate.add_argument("--n", type=int, default=2000, help="samples to generate from the checkpoint")
    evaluate.add_argument("--dataset", choices=DATASET_NAMES, default="mnist5k",
                          help="real data to compare --samples with (a checkpoint uses its own)")
    evaluate.add_argument("--json", help="also write the scores to this file")
    evaluate.add_argument("--download", action="store_true",
                          help="let the data set download (a checkpoint's own config never does)")


MAX_SAMPLES = 100_000  # images in a --samples file, as --n allows
MAX_SAMPLES_BYTES = 1 << 30  # of array data in a --samples file: read whole, then converted to float32


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
    _check_out_file(out)
    if not 1 <= args.n <= 100000:
        raise ValueError(f"--n={args.n} is invalid: allowed an integer from 1 to 100000")
    if args.seed < 0:
        raise ValueError(f"--seed={args.seed} is invalid: allowed an integer >= 0")
    generator, config, _ = load_generator(args.checkpoint)
    # Sample i uses seed + i, so one seed names one image whatever --n is.
    z = zs_from_seeds(range(args.seed, args.seed + args.n), config.model.latent_dim)
    images = generate(generator, z, labels=_class_labels(args.class_index, generator, args.n))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
        np.save(out, images.numpy().astype(np.float32))  # (N, C, H, W) in [-1, 1]; 2D runs: (N, 2) points
    elif config.data.is_points:  # a scatter of the points over the run's data, as its samples/ grids
        save_png(scatter_image(images, load_dataset(data_from_file(config.data)).images), out)
    else:
        save_png(image_grid(images), out)
    print(f"wrote {args.n} samples to {out}")
    return 0


def _check_out_file(out: Path) -> None:
    """--out must name a file to write, not an existing folder or a device."""
    if out.is_dir():
        raise ValueError(f"--out={str(out)!r} is an existing folder: allowed a file name, "
                         f"e.g. {str(out / ('samples' + out.suffix))!r}")
    if out.exists() and not out.is_file():
        raise ValueError(f"--out={str(out)!r} exists and is not a regular file")


def interpolate_command(args: argparse.Namespace) -> int:
    """`interpolate`: a lerp/slerp strip of images between two seeds' latents."""
    from gan_core.runs.checkpoint import load_generator
    from gan_core.views.latent import generate, interpolate, save_strip, z_from_seed

    if not args.out.endswith(".png"):
        raise ValueError(f"--out={args.out!r} is invalid: allowed a .png file name")
    _check_out_file(Path(args.out))
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
    save_strip(generate(generator, path, labels=_class_labels(args.class_index, generator, args.steps)), args.out)
    print(f"wrote a {args.steps}-image {args.method} strip to {args.out}")
    return 0


def _class_labels(class_index: int | None, generator, count: int):
    """--class K as (count,) labels for a conditional generator; None without --class (classes in turn)."""
    import torch

    classes = getattr(generator, "num_classes", 0)
    if class_index is None:
        return None
    if not classes:
        raise ValueError(f"--class={class_index} is invalid: the checkpoint is not conditional (model.conditional "
                         "is false); leave --class out")
    if not 0 <= class_index < classes:
        raise ValueError(f"--class={class_index} is invalid: allowed an integer from 0 to {classes - 1}")
    return torch.full((count,), class_index, dtype=torch.int64)


def evaluate_command(args: argparse.Namespace) -> int:
    """`evaluate`: FID, coverage, precision/recall of a checkpoint's samples or a .npy (2D runs: toy metrics)."""
    import json

    import numpy as np
    import torch

    from gan_core.config.schema import DataConfig
    from gan_core.data.datasets import data_from_file, load_dataset
    from gan_core.quality.evaluator import Evaluator

    requested = None  # the classes asked of a conditional checkpoint's generator
    if args.checkpoint:
        from gan_core.runs.checkpoint import load_generator
        from gan_core.views.latent import generate, zs_from_seeds

        if not 10 <= args.n <= 100000:
            raise ValueError(f"--n={args.n} is invalid: allowed an integer from 10 to 100000")
        from gan_core.quality.evaluator import conditional_inputs

        generator, config, _ = load_generator(args.checkpoint)
        if config.data.is_points:
            return _evaluate_points(generator, config, args)
        # The checkpoint's own config never downloads (nor creates data.root); only --download does.
        data_config = data_from_file(config.data, args.download)
        if generator.num_classes:  # balanced classes from fixed seeds; scored per class below
            z, requested = conditional_inputs(args.n, generator.num_classes, config.model.latent_dim)
            images = generate(generator, z, labels=requested)
        else:
            images = generate(generator, zs_from_seeds(range(args.n), config.model.latent_dim))
    else:
        path = Path(args.samples)
        if path.suffix != ".npy" or not path.is_file():
            raise ValueError(f"--samples={args.samples!r} is invalid: allowed an existing .npy file")
        array = load_samples_npy(path, f"--samples={args.samples!r}")
        data_config = DataConfig(name=args.dataset, download=args.download)
        images = torch.from_numpy(np.asarray(array, dtype=np.float32))
        if not bool(torch.isfinite(images).all()):
            bad = int((~torch.isfinite(images)).flatten(1).any(dim=1).sum()) if images.ndim > 1 else -1
            raise ValueError(f"--samples={args.samples!r} holds NaN or infinite values"
                             + (f" in {bad} of {images.shape[0]} images" if bad >= 0 else ""))
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


def load_samples_npy(path: Path, label: str):
    """A .npy of N x C x H x W numbers, its header vetted (shape, dtype, against the file's real size) before
    anything is allocated; never unpickled. ValueError naming the file (`label`) and what is allowed."""
    import numpy as np
    import numpy.lib.format as npy_format

    with open(path, "rb") as file:
        try:
            version = npy_format.read_magic(file)
            read_header = {(1, 0): npy_format.read_array_header_1_0,
                           (2, 0): npy_format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"format version {version}")
            shape, _fortran_order, dtype = read_header(file)  # np.load handles either order
        except (ValueError, SyntaxError, EOFError, OSError) as error:
            first_line = (str(error).splitlines() or [type(error).__name__])[0][:200]
            raise ValueError(f"{label} is not a .npy file that can be read safely ({first_line}): allowed an "
                             "array saved by numpy.save") from None
        data_offset = file.tell()
        file_bytes = file.seek(0, 2)
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "fiu":
        raise ValueError(f"{label} holds {dtype} values: allowed numbers (float, int or uint)")
    if len(shape) != 4 or not 1 <= shape[0] <= MAX_SAMPLES or not all(1 <= side <= 256 for side in shape[1:]):
        raise ValueError(f"{label} declares an array of shape {shape}: allowed N x C x H x W with N from 1 to "
                         f"{MAX_SAMPLES:,} and sides of at most 256")
    declared = math.prod(shape) * dtype.itemsize
    described = " x ".join(map(str, shape))
    if declared > MAX_SAMPLES_BYTES:
        raise ValueError(f"{label} declares {described} {dtype} values ({declared:,} bytes): allowed at most "
                         f"{MAX_SAMPLES_BYTES:,} bytes; score fewer samples")
    if file_bytes - data_offset != declared:
        raise ValueError(f"{label} declares {described} {dtype} values ({declared:,} bytes) but holds "
                         f"{file_bytes - data_offset:,} bytes of data: truncated or not written by numpy.save")
    return np.load(path, allow_pickle=False)  # the header is vetted: this allocates what the file holds
