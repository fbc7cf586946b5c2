"""`python -m gan_core export-tensorboard RUN_DIR`: TensorBoard event files for a run recorded earlier."""

from __future__ import annotations

import argparse
from typing import Any


def add_tensorboard_parser(commands: Any) -> None:
    """Register the `export-tensorboard` subcommand."""
    export = commands.add_parser("export-tensorboard",
                                 help="write TensorBoard event files for a run recorded earlier")
    export.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (it must not be training)")
    export.set_defaults(handler=export_tensorboard_command)


def export_tensorboard_command(args: argparse.Namespace) -> int:
    """Write the events; print what was written and how to open it."""
    from gan_core.record.tensorboard import export_run

    counts = export_run(args.run_dir)
    print(f"{args.run_dir}: {counts['rows']} metric rows, {counts['quality']} quality rows, {counts['grids']} "
          f"grids, {counts['events']} events; open with: tensorboard --logdir {args.run_dir}")
    return 0
