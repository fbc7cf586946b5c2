"""Projection benchmark (issue 29): train the default preset for a wall-clock budget (or load a checkpoint),
project training digits into its latent space, and print the figures beside their targets:

- time to project 100 training digits (target: under 60 s on the development CPU);
- the share of reconstructions the evaluator's classifier gives the target's label (target: >= 85%);
- the share of reconstructions closer in pixels (MSE) to their target than the best of 1,000 random samples
  (target: >= 80%).

Usage: .venv/bin/python benchmarks/latent_bench.py [--seconds 120 | --train-steps N | --checkpoint FILE] [--images 100]
       [--steps 100] [--restarts 4] [--random 1000] [--save FILE]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from gan_core.config.presets import preset
from gan_core.data.datasets import data_from_file, load_dataset
from gan_core.engine.trainer import Trainer
from gan_core.quality.evaluator import Evaluator
from gan_core.quality.latent_quality import predicted_classes, project_images
from gan_core.runs.checkpoint import load_generator, save_checkpoint
from gan_core.views.latent import generate, zs_from_seeds

TARGET_SECONDS, TARGET_LABELS, TARGET_BEATS_RANDOM = 60.0, 0.85, 0.80
RANDOM_SEED_OFFSET = 10**9  # the random baseline's seeds: far from the projection's own candidates


def _generator(args: argparse.Namespace):
    """(eval-mode generator, config, how it was made): a checkpoint's, or the default preset trained now."""
    if args.checkpoint:
        generator, config, state = load_generator(args.checkpoint)
        return generator, config, f"checkpoint {args.checkpoint} (step {state['step']})"
    config = preset("default").with_changes({"training.device": "cpu"})
    trainer = Trainer(config)
    started = time.perf_counter()
    while (trainer.step_count < args.train_steps if args.train_steps else
           time.perf_counter() - started < args.seconds):
        trainer.step()
    if args.save:
        save_checkpoint(trainer.state_dict(), args.save)
    generator = copy.deepcopy(trainer.sampling_generator()).eval()
    budget = f"{trainer.step_count} steps" if args.train_steps else f"{args.seconds:.0f} s"
    return generator, config, (f"default preset trained {budget} ({trainer.step_count} steps in "
                               f"{time.perf_counter() - started:.0f} s)")


def run(args: argparse.Namespace) -> int:
    """Train or load, project, print the table; returns 0."""
    generator, config, source = _generator(args)
    data_config = data_from_file(config.data)
    dataset = load_dataset(data_config)
    evaluator = Evaluator.for_data(data_config, dataset=dataset)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(args.seed))[: args.images]
    targets, labels = dataset.images[order].float(), dataset.labels[order]
    latent_dim = config.model.latent_dim

    started, cpu_started = time.perf_counter(), time.process_time()
    projection = project_images(generator, targets, latent_dim, evaluator, steps=args.steps, restarts=args.restarts,
                                seed=args.seed)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started

    found = predicted_classes(evaluator, projection.reconstructions)
    label_share = float((found == labels).double().mean())
    targets_read = float((predicted_classes(evaluator, targets) == labels).double().mean())
    randoms = generate(generator, zs_from_seeds(range(RANDOM_SEED_OFFSET, RANDOM_SEED_OFFSET + args.random),
                                                latent_dim))
    flat_t, flat_r = targets.flatten(1).double(), randoms.flatten(1).double()
    random_best = torch.cdist(flat_t, flat_r).pow(2).min(dim=1).values / flat_t.shape[1]  # (N,) best random MSE
    beats = float((projection.pixel_distance < random_best).double().mean())

    print(f"latent bench: {source}; {args.images} training digits from mnist5k, {args.restarts} restarts x "
          f"{args.steps} steps, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| figure | measured | target |")
    print("| --- | ---: | ---: |")
    print(f"| seconds to project {args.images} digits | {seconds:.1f} | under {TARGET_SECONDS:.0f}"
          f"{' (for 100)' if args.images != 100 else ''} |")
    print(f"| (CPU seconds of the projection, all threads; on a busy machine wall time grows, this does not) | "
          f"{cpu_seconds:.1f} | |")
    print(f"| classifier gives the target's label | {label_share:.1%} | >= {TARGET_LABELS:.0%} |")
    print(f"| closer (MSE) than the best of {args.random} random samples | {beats:.1%} "
          f"| >= {TARGET_BEATS_RANDOM:.0%} |")
    print(f"| (pixel MSE: projection mean / best random mean) | {float(projection.pixel_distance.mean()):.4f} / "
          f"{float(random_best.mean()):.4f} | |")
    print(f"| (feature distance, mean) | {float(projection.feature_distance.mean()):.4f} | |")
    print(f"| (classifier on the targets themselves) | {targets_read:.1%} | |")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(prog="latent_bench.py", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="training budget for the default preset")
    parser.add_argument("--train-steps", type=int, default=0,
                        help="train exactly this many steps instead of --seconds (what 120 s gives a quiet CPU)")
    parser.add_argument("--checkpoint", help="project with this checkpoint's generator instead of training")
    parser.add_argument("--save", help="also save the trained checkpoint here (to rerun with --checkpoint)")
    parser.add_argument("--images", type=int, default=100, help="training digits to project")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument("--random", type=int, default=1000, help="random samples in the pixel baseline")
    parser.add_argument("--seed", type=int, default=0)
    return parser


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
