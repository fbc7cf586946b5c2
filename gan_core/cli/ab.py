"""The command line of A/B experiments: python -m gan_core ab (the runner is gan_core/control/ab.py)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from gan_core.config.fields import parse_value
from gan_core.config.presets import PRESET_NAMES, preset
from gan_core.config.schema import RunConfig
from gan_core.control.ab import LABELS, ABProgress, ABRunner, describe_value, dotted_field
from gan_core.runs.listing import DEFAULT_RUNS_ROOT


def add_ab_parser(commands: Any) -> None:
    """Register the `ab` subcommand on the CLI's subparsers."""
    ab = commands.add_parser("ab", help="train two runs that differ in one config field, side by side")
    ab.set_defaults(handler=run_ab_cli)
    base = ab.add_mutually_exclusive_group()
    base.add_argument("--preset", default="default", choices=PRESET_NAMES)
    base.add_argument("--config", metavar="FILE", help="start from a config.json (a run's own, for example)")
    ab.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="change a field in both runs, e.g. --set data.name=digits")
    ab.add_argument("--field", required=True, help="the one field the runs differ in, e.g. loss.loss")
    ab.add_argument("--values", nargs=2, required=True, metavar=("A", "B"), help="its value in run A and in run B")
    ab.add_argument("--steps", type=int, default=1000, help="steps each run trains")
    ab.add_argument("--runs-root", default=DEFAULT_RUNS_ROOT, help="folder for the two run directories")
    ab.add_argument("--quiet", action="store_true", help="no progress bar")


def _base_config(args: argparse.Namespace) -> RunConfig:
    """The preset or --config file with every --set applied; ValueError naming a bad field or value."""
    from dataclasses import replace

    from gan_core.data.datasets import data_from_file
    from gan_core.files import read_json

    config = preset(args.preset)
    if args.config:  # a file's own data.download is off; the user's --set data.download=true below is obeyed
        loaded = RunConfig.from_dict(read_json(args.config, follow_links=True))  # the user's own file, links theirs
        config = replace(loaded, data=data_from_file(loaded.data))
    field = dotted_field(args.field)
    changes = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r} is invalid: allowed FIELD=VALUE, e.g. optimizer.lr_g=1e-3")
        if dotted_field(key.strip()) == field:
            raise ValueError(f"--set {key.strip()} is the A/B field: give its two values with --values")
        changes[key.strip()] = parse_value(key.strip(), text.strip())
    return config.with_changes(changes) if changes else config


def run_ab_cli(args: argparse.Namespace) -> int:
    """`python -m gan_core ab`: train the pair, print both directories and a summary line per run.

    Exit 0 when both reached --steps (or were stopped by a signal), 1 when a run went non-finite or failed.
    """
    if args.steps < 1:
        raise ValueError(f"--steps={args.steps} is invalid: allowed an integer >= 1")
    config = _base_config(args)
    field = dotted_field(args.field)
    values = tuple(parse_value(field, text.strip()) for text in args.values)
    runner = ABRunner()
    dirs = runner.start(config, field, values[0], values[1], args.steps, args.runs_root)
    for index, path in enumerate(dirs):
        print(f"{LABELS[index]} ({field}={describe_value(values[index])}): {path}")
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda signum, frame: runner.stop())
    try:
        _watch(runner, args.quiet)
    finally:
        runner.shutdown()
        for number, handler in previous.items():
            signal.signal(number, handler)
    progress = runner.progress()
    for index in range(2):
        print(_summary(progress, index))
    if progress.status == "failed":
        sys.stderr.write(f"error: the A/B experiment failed: {' '.join(str(progress.error).split())}\n")
        return 1
    diverged = [LABELS[i] for i in range(2) if progress.ended[i] == "nonfinite"]
    if diverged:
        sys.stderr.write(f"error: non-finite loss in run {' and '.join(diverged)}; its last good checkpoint "
                         f"is kept\n")
        return 1
    return 0


def _watch(runner: ABRunner, quiet: bool) -> None:
    """A progress bar over both runs' steps until the experiment ends."""
    from tqdm import tqdm

    progress = runner.progress()
    with tqdm(total=2 * progress.steps, disable=quiet, unit="step", dynamic_ncols=True, mininterval=0.5) as bar:
        done = False
        while not done:
            done = runner.wait(0.5)
            progress = runner.progress()
            bar.set_postfix_str(" | ".join(
                f"{LABELS[i]} D {row['d_loss']:.3f} G {row['g_loss']:.3f}"
                for i, row in enumerate(progress.last_rows) if row is not None), refresh=False)
            bar.update(sum(progress.step) - bar.n)


def _summary(progress: ABProgress, index: int) -> str:
    """One line per run: label, value, how it ended, final d_loss, g_loss, d_fake, directory."""
    row = progress.last_rows[index]
    losses = (f"d_loss {row['d_loss']:.4f}  g_loss {row['g_loss']:.4f}  d_fake {row['d_fake']:.3f}"
              if row is not None else "no steps")
    return (f"{LABELS[index]} {progress.field}={describe_value(progress.values[index])}: "
            f"{progress.ended[index] or progress.status} at step {progress.step[index]}  {losses}  "
            f"{progress.run_dirs[index]}")
