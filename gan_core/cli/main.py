"""Command line: python -m gan_core (installed: gan-workbench) train|sample|interpolate|evaluate|project|
export|ab|export-tensorboard|bench (gan-workbench also: dashboard). Bad input: one line on stderr and exit
code 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_core.cli.ab import add_ab_parser
from gan_core.cli.checkpoint_commands import add_checkpoint_parsers
from gan_core.cli.dashboard import add_dashboard_parser
from gan_core.cli.latent_commands import add_latent_parsers
from gan_core.cli.tensorboard import add_tensorboard_parser
from gan_core.cli.train import add_train_parser
from gan_core.config.presets import PRESET_NAMES
from gan_core.files import describe_write_error, write_error

EXIT_USAGE = 2
CONSOLE = "gan-workbench"  # the installed command (pyproject.toml [project.scripts])


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


class _OneLineHelp(argparse.HelpFormatter):
    """Each subcommand's help on one line after its name (argparse wraps at the terminal's width otherwise)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=110)
        self._action_max_length = len("    export-tensorboard")  # the longest name, so none wraps


def build_parser(prog: str = "python -m gan_core") -> argparse.ArgumentParser:
    """The CLI's argument parser: one subcommand per verb, each registered by its own module with its handler
    (`set_defaults(handler=...)`)."""
    parser = _Parser(prog=prog, description="GAN Workbench: train, watch and explore GANs.",
                     formatter_class=_OneLineHelp)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    if prog == CONSOLE:
        add_dashboard_parser(commands)
    add_train_parser(commands)
    add_checkpoint_parsers(commands)
    add_latent_parsers(commands)
    add_ab_parser(commands)
    add_tensorboard_parser(commands)
    bench = commands.add_parser("bench", help="benchmarks that print figures beside their baseline (from a checkout)")
    bench.set_defaults(handler=_bench)
    bench.add_argument("which", choices=("engine", "session", "quality", "contention"))
    bench.add_argument("--rounds", type=int, default=5)
    bench.add_argument("--steps", type=int, default=200, help="steps per round")
    bench.add_argument("--seconds", type=float, default=120.0, help="quality: training budget per preset")
    bench.add_argument("--n", type=int, default=2000, help="quality: samples scored per preset")
    bench.add_argument("--presets", default="seed-mlp,default,dcgan", help="quality: presets to train")
    bench.add_argument("--round-seconds", type=float, default=20.0,
                       help="contention: seconds per run, quiet and beside a CPU-bound neighbour")
    bench.add_argument("--preset", default="default", choices=PRESET_NAMES, help="contention: the preset to train")
    return parser


def console(argv: list[str] | None = None) -> int:
    """The installed `gan-workbench` command: the same subcommands, plus `dashboard`."""
    return main(argv, prog=CONSOLE)


def main(argv: list[str] | None = None, prog: str = "python -m gan_core") -> int:
    """Run one command; returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as error:
        # Config, data and checkpoint errors are ValueErrors whose message names the problem.
        sys.stderr.write(f"error: {_one_line(error)}\n")
        return EXIT_USAGE
    except (OSError, RuntimeError) as error:  # a read-only folder, a full disk: the cause in one line
        cause = write_error(error)
        if cause is None:
            raise
        sys.stderr.write(f"error: {describe_write_error(cause)}\n")
        return EXIT_USAGE


def _one_line(error: BaseException) -> str:
    """An error's message on one line (a message from a file may hold newlines)."""
    return " ".join(str(error).split()) or type(error).__name__


def _bench(args: argparse.Namespace) -> int:
    """A thin entry to benchmarks/engine_bench.py: benchmarks live beside the engine, not inside it."""
    import importlib.util

    script = "contention_bench.py" if args.which == "contention" else "engine_bench.py"
    path = Path(__file__).resolve().parents[2] / "benchmarks" / script
    if not path.is_file():
        raise ValueError(f"bench needs the source checkout: {path} is missing (benchmarks are not installed)")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(args)
