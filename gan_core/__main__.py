"""Command line: python -m gan_core train|ab|sample|interpolate|bench. Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
import time
from pathlib import Path

from gan_core.cli.ab import add_ab_parser, run_ab_cli
from gan_core.cli.checkpoint_commands import evaluate_command, interpolate_command, sample_command
from gan_core.config import PRESET_NAMES, DATASET_NAMES, parse_value, preset
from gan_core.runtime.threads import ThreadPolicy

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = _Parser(prog="python -m gan_core", description="GAN Workbench: train and explore GANs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a GAN headless into a run directory")
    train.add_argument("--preset", default="default", choices=PRESET_NAMES)
    train.add_argument("--dataset", choices=DATASET_NAMES, help="data set (overrides the preset's)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="train until the run has this many steps")
    length.add_argument("--seconds", type=float, help="train for this many seconds of wall time")
    train.add_argument("--run-dir", help="the run directory to create (default: runs/<time>-<name>)")
    train.add_argument("--runs-root", default="runs", help="folder for new run directories")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="change a config field, e.g. --set optimizer.lr_g=1e-3 or --set batch_size=64")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its checkpoints/latest.pt")
    train.add_argument("--download", action="store_true",
                       help="with --resume: let the run's data set download (a run's own file never does)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

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

    bench = commands.add_parser("bench", help="benchmarks that print figures")
    bench.add_argument("which", choices=("engine", "session", "quality", "contention"))
    bench.add_argument("--rounds", type=int, default=5)
    bench.add_argument("--steps", type=int, default=200, help="steps per round")
    bench.add_argument("--seconds", type=float, default=120.0, help="quality: training budget per preset")
    bench.add_argument("--n", type=int, default=2000, help="quality: samples scored per preset")
    bench.add_argument("--presets", default="seed-mlp,default,dcgan", help="quality: presets to train")
    bench.add_argument("--round-seconds", type=float, default=20.0,
                       help="contention: seconds per run, quiet and beside a CPU-bound neighbour")
    bench.add_argument("--preset", default="default", choices=PRESET_NAMES, help="contention: the preset to train")
    add_ab_parser(commands)  # the A/B runner's parser and handler live in gan_core/control/ab.py
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return {"train": _train, "sample": sample_command, "interpolate": interpolate_command,
                "evaluate": evaluate_command, "bench": _bench, "ab": run_ab_cli}[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        # Config, data and checkpoint errors are ValueErrors whose message names the problem.
        sys.stderr.write(f"error: {_one_line(error)}\n")
        return EXIT_USAGE
    except (OSError, RuntimeError) as error:  # a read-only folder, a full disk: the cause in one line, no traceback
        cause = write_error(error)
        if cause is None:
            raise
        sys.stderr.write(f"error: {_describe(cause)}\n")
        return EXIT_USAGE


def _one_line(error: BaseException) -> str:
    """An error's message on one line (a message from a file may hold newlines)."""
    return " ".join(str(error).split()) or type(error).__name__


# What torch's zip writer says when a write under it failed (the OSError may be gone by then).
_TORCH_WRITE_FAILURES = ("PytorchStreamWriter failed writing", "unexpected pos", "file write failed")


def write_error(error: BaseException) -> OSError | None:
    """The OSError behind a failed write, or None. torch.save on a full disk raises a RuntimeError of its own
    while the OSError is being handled (its writer finds the file shorter than it wrote): that is a write error
    too."""
    if isinstance(error, OSError):
        return error
    if not isinstance(error, RuntimeError):
        return None
    cause: BaseException | None = error
    for _ in range(8):  # the chain of causes is short; a loop in it must not hang
        cause = cause.__cause__ or cause.__context__ if cause is not None else None
        if isinstance(cause, OSError):
            return cause
    if any(text in str(error) for text in _TORCH_WRITE_FAILURES):
        return OSError(errno.EIO, f"a file could not be written ({_one_line(error)[:160]})")
    return None


def _located(error: OSError, folder: str | os.PathLike | None) -> OSError:
    """The error naming `folder` when it names no file itself (a failed write() or fsync() names none)."""
    if error.filename or folder is None:
        return error
    return OSError(error.errno, error.strerror or _one_line(error), str(folder))


def _config_from_args(args: argparse.Namespace):
    config = preset(args.preset)
    changes = {}
    if args.dataset:
        changes["data.name"] = args.dataset
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r} is invalid: allowed FIELD=VALUE, e.g. optimizer.lr_g=1e-3")
        changes[key.strip()] = parse_value(key.strip(), text.strip())
    return config.with_changes(changes) if changes else config


def _train(args: argparse.Namespace) -> int:
    from gan_core.engine import distributed as dist_setup

    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps={args.steps} is invalid: allowed an integer >= 1")
    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise ValueError(f"--seconds={args.seconds} is invalid: allowed a finite number > 0")
    if args.resume and (args.set or args.dataset or args.run_dir):
        raise ValueError("--resume continues a run as configured: --set, --dataset and --run-dir "
                         "are not allowed with it")
    if args.download and not args.resume:
        raise ValueError("--download is for --resume; a new run downloads with --set data.download=true")
    config = None if args.resume else _config_from_args(args)  # validated before joining a process group
    device = config.training.device if config else "auto"
    distributed = dist_setup.init_from_environment(device)
    try:
        return _train_loop(args, config, distributed)
    finally:
        dist_setup.shutdown()


def _train_loop(args: argparse.Namespace, config, distributed) -> int:
    """The headless loop; under torchrun every rank trains and rank 0 alone writes (and owns) the run directory."""
    from gan_core.record.recorder import RunRecorder
    from gan_core.record.opening import create_run_dir, open_run_for_resume
    from gan_core.runs.lock import release_run_lock
    from gan_core.engine.trainer import Trainer

    trainer = paths = recorder = None
    setup_error: BaseException | None = None
    try:
        if args.resume:  # rank 0 takes the run's lock first; a file's data.download is off unless --download
            trainer, paths = open_run_for_resume(args.resume, distributed, allow_download=args.download)
        else:
            trainer = Trainer(config, distributed=distributed)  # data and models before any folder
            paths = create_run_dir(config, args.runs_root, args.run_dir) if distributed.is_main else None
        recorder = RunRecorder(trainer, paths) if distributed.is_main else None
    except Exception as error:
        setup_error = error
    # Every rank learns whether all could set up, so none waits forever in a collective.
    if _agree(int(setup_error is not None), distributed):
        cause = write_error(setup_error) if setup_error is not None else None
        if cause is not None and distributed.is_main:  # a full disk: say where, and end the run as failed
            root = paths.root if paths is not None else Path(args.resume) if args.resume else None
            setup_error = _located(cause, root or args.run_dir or args.runs_root)
            if root is not None:
                _record_failure(root, _describe(setup_error), held=paths is not None)
        if paths is not None:
            release_run_lock(paths.root)
        if setup_error is not None:
            raise setup_error
        raise ValueError("another rank could not set up the run; see its message")
    try:
        return _train_steps(args, trainer, recorder, paths, distributed)
    finally:
        trainer.release_distributed()


def _train_steps(args: argparse.Namespace, trainer, recorder, paths, distributed) -> int:
    """Train until the target, the deadline, a signal, a non-finite loss or a write error (all ranks agree)."""
    import torch

    from gan_core.data.datasets import describe

    quiet = args.quiet or not distributed.is_main
    if recorder is not None:
        if not quiet:
            print(f"data: {describe(trainer.dataset)}; run directory: {paths.root}"
                  + (f"; {distributed.world_size} processes" if distributed.enabled else ""))
        recorder.log("resume" if args.resume else "start", source="cli", world_size=distributed.world_size)
    stop = {"requested": False}

    def _request_stop(signum, frame):  # finish the current step, then checkpoint and exit
        stop["requested"] = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    target = args.steps if args.steps is not None else (None if args.seconds else trainer.step_count + 1000)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    progress = _progress(trainer.step_count, target, quiet)
    threads = ThreadPolicy(max_threads=trainer.max_threads)  # fits torch's threads to the cores other processes leave free
    outcome = 0  # 0 go on, 1 stop (target, time or signal), 2 non-finite loss, 3 a write failed
    failure: OSError | None = None
    try:
        while True:
            done = ((target is not None and trainer.step_count >= target)
                    or (deadline is not None and time.monotonic() >= deadline) or stop["requested"])
            outcome = _agree(max(outcome, int(done)), distributed)
            if outcome:
                break
            row = trainer.step()
            change = threads.tick()
            if change is not None and recorder is not None:
                recorder.log("threads", threads=change.threads, message=change.message())
            try:
                finite = recorder.record(row) if recorder is not None else bool(
                    torch.isfinite(torch.tensor([row["d_loss"], row["g_loss"]])).all())
            except (OSError, RuntimeError) as error:  # a full disk, a folder made read-only: end every rank cleanly
                cause = write_error(error)
                if cause is None:
                    raise
                failure, outcome = _located(cause, paths.root), 3
                continue
            if not finite:
                outcome = max(outcome, 2)
                continue  # every rank learns of it at the next agreement
            progress.update(1)
            progress.set_postfix_str(
                f"D {row['d_loss']:.3f} G {row['g_loss']:.3f} D(x) {row['d_real']:.2f} "
                f"D(G(z)) {row['d_fake']:.2f} {row['images_per_s']:.0f} img/s", refresh=False)
        if recorder is not None and outcome in (1, 2):
            # nonfinite: no checkpoint from the bad weights; finish/stop: a last grid and checkpoint.
            reason = "nonfinite" if outcome == 2 else "stop" if stop["requested"] else "finish"
            try:
                recorder.finish(reason)
            except (OSError, RuntimeError) as error:
                cause = write_error(error)
                if cause is None:
                    raise
                if recorder.finished is None:  # the last grid or checkpoint failed; a failed close alone
                    failure = _located(cause, paths.root)  # leaves the run's end written, as it always did
            if outcome == 2:
                sys.stderr.write(f"error: non-finite loss at step {trainer.step_count}; the last good "
                                 f"checkpoint is kept; resume with a lower learning rate\n")
    finally:
        progress.close()
        if recorder is not None:
            if failure is not None:  # a `failed` event (so the run lists as failed) if the disk takes it
                recorder.finish("failed", message=_describe(failure))
            try:
                recorder.close()  # an interrupt ends here without an event; the lock is released
            except OSError:
                pass  # the failure is already reported once; a flush on a full disk fails again
    if failure is not None:
        raise failure
    if outcome == 3:
        raise ValueError("stopped: rank 0 could not write the run directory; see its message")
    if distributed.is_main:
        print(f"run directory: {paths.root}  steps: {trainer.step_count}")
    return 1 if outcome == 2 else 0


def _describe(error: OSError) -> str:
    """An OSError as `cause: file`, for the error line and a `failed` event."""
    return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")


def _record_failure(root: Path, message: str, held: bool) -> None:
    """A `failed` event in a run directory whose setup could not write (a resume on a full disk), if the disk
    takes it. held: this process owns the run already; else it takes the lock for the one line, and writes
    nothing when another process owns the run or the folder is not a run of ours."""
    from gan_core.record.recorder import EventLog
    from gan_core.runs.paths import RunPaths
    from gan_core.runs.listing import last_logged_step
    from gan_core.runs.lock import acquire_run_lock, release_run_lock

    paths = RunPaths(root)
    if paths.events.is_symlink() or not paths.events.is_file():
        return
    try:
        if not held:
            acquire_run_lock(root)
        try:
            log = EventLog(paths.events)
            try:
                log.append("failed", last_logged_step(paths.metrics), message=message)
            finally:
                log.close()
        finally:
            if not held:
                release_run_lock(root)
    except (OSError, ValueError):  # the disk takes nothing more, or another process owns the run (RunLockedError)
        pass


def _agree(value: int, distributed) -> int:
    """The largest value over all ranks (one tiny all_reduce per step under torchrun), so all stop together."""
    if not distributed.enabled:
        return value
    import torch
    import torch.distributed as dist

    flag = torch.tensor([value], dtype=torch.int64,
                        device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return int(flag.item())


def _progress(initial: int, total: int | None, quiet: bool):
    from tqdm import tqdm

    return tqdm(initial=initial, total=total, disable=quiet, unit="step", dynamic_ncols=True,
                mininterval=0.5)


def _bench(args: argparse.Namespace) -> int:
    """A thin entry to benchmarks/engine_bench.py: benchmarks live beside the engine, not inside it."""
    import importlib.util

    script = "contention_bench.py" if args.which == "contention" else "engine_bench.py"
    path = Path(__file__).resolve().parent.parent / "benchmarks" / script
    if not path.is_file():
        raise ValueError(f"bench needs the source checkout: {path} is missing (benchmarks are not installed)")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(args)


if __name__ == "__main__":
    sys.exit(main())
