"""`python -m gan_core train`: a new run or a resumed one, headless, on one process or under torchrun, driven
by the one run loop (control/loop.py). Under torchrun every rank trains and rank 0 alone writes the run."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

from gan_core.config.fields import parse_value
from gan_core.config.presets import PRESET_NAMES, preset
from gan_core.config.schema import DATASET_NAMES, RunConfig
from gan_core.control.loop import LoopRun, Work, run_loop
from gan_core.engine.distributed import DistributedInfo
from gan_core.files import describe_write_error, located, write_error

# Why a loop ended, agreed over all ranks: the largest wins.
GOING, STOPPING, NONFINITE, WRITE_FAILED = 0, 1, 2, 3


def add_train_parser(commands: Any) -> None:
    """Register the `train` subcommand."""
    train = commands.add_parser("train", help="train a GAN headless into a run directory (or resume one)")
    train.set_defaults(handler=train_command)
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


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The preset with --dataset and every --set applied; ValueError naming a bad field or value."""
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


def train_command(args: argparse.Namespace) -> int:
    """Validate the flags, join a process group under torchrun, train; returns the exit code."""
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
    config = None if args.resume else config_from_args(args)  # validated before joining a process group
    device = config.training.device if config else "auto"
    distributed = dist_setup.init_from_environment(device)
    try:
        return _train(args, config, distributed)
    finally:
        dist_setup.shutdown()


def _train(args: argparse.Namespace, config: RunConfig | None, distributed: DistributedInfo) -> int:
    """Open the run on every rank (rank 0 creates and owns its directory), then train it."""
    from gan_core.engine.trainer import Trainer
    from gan_core.record.opening import create_run_dir, open_run_for_resume
    from gan_core.record.recorder import RunRecorder
    from gan_core.runs.lock import release_run_lock

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
    if agree(int(setup_error is not None), distributed):
        cause = write_error(setup_error) if setup_error is not None else None
        if cause is not None and distributed.is_main:  # a full disk: say where, and end the run as failed
            root = paths.root if paths is not None else Path(args.resume) if args.resume else None
            setup_error = located(cause, root or args.run_dir or args.runs_root)
            if root is not None:
                _record_failure(root, describe_write_error(setup_error), held=paths is not None)
        if paths is not None:
            release_run_lock(paths.root)
        if setup_error is not None:
            raise setup_error
        raise ValueError("another rank could not set up the run; see its message")
    try:
        return _train_steps(args, LoopRun(trainer, recorder), paths, distributed)
    finally:
        trainer.release_distributed()


class _CliDriver:
    """The CLI's side of the run loop: a target step, a deadline or a signal ends it, all ranks agreeing."""

    def __init__(self, run: LoopRun, target: int | None, deadline: float | None, distributed: DistributedInfo,
                 quiet: bool) -> None:
        self.run, self.target, self.deadline, self.distributed = run, target, deadline, distributed
        self.outcome = GOING
        self.failure: OSError | None = None
        self.signalled = False
        self.progress = _progress(run.trainer.step_count, target, quiet)

    def request_stop(self, signum: int, frame: Any) -> None:
        """SIGINT/SIGTERM: finish the current step, then checkpoint and exit."""
        self.signalled = True

    def next_work(self) -> Work | None:
        """One tiny all_reduce per step under torchrun, so every rank stops at the same step."""
        step = self.run.trainer.step_count
        done = ((self.target is not None and step >= self.target)
                or (self.deadline is not None and time.monotonic() >= self.deadline) or self.signalled)
        self.outcome = agree(max(self.outcome, int(done)), self.distributed)
        return None if self.outcome else Work()

    def after_step(self, index: int, row: dict[str, float], finite: bool) -> None:
        """Progress bar, or a non-finite loss that every rank learns of at the next agreement."""
        if not finite:
            self.outcome = max(self.outcome, NONFINITE)
            return
        self.progress.update(1)
        self.progress.set_postfix_str(
            f"D {row['d_loss']:.3f} G {row['g_loss']:.3f} D(x) {row['d_real']:.2f} "
            f"D(G(z)) {row['d_fake']:.2f} {row['images_per_s']:.0f} img/s", refresh=False)

    def write_failed(self, index: int, error: OSError) -> None:
        """A full disk, a folder made read-only: every rank ends cleanly at the next agreement."""
        self.failure, self.outcome = located(error, self.run.recorder.paths.root), WRITE_FAILED


def _train_steps(args: argparse.Namespace, run: LoopRun, paths, distributed: DistributedInfo) -> int:
    """Train until the target, the deadline, a signal, a non-finite loss or a write error (all ranks agree)."""
    from gan_core.data.datasets import describe

    trainer, recorder = run.trainer, run.recorder
    quiet = args.quiet or not distributed.is_main
    if recorder is not None:
        if not quiet:
            print(f"data: {describe(trainer.dataset)}; run directory: {paths.root}"
                  + (f"; {distributed.world_size} processes" if distributed.enabled else ""))
        recorder.log("resume" if args.resume else "start", source="cli", world_size=distributed.world_size)
    target = args.steps if args.steps is not None else (None if args.seconds else trainer.step_count + 1000)
    driver = _CliDriver(run, target, time.monotonic() + args.seconds if args.seconds else None, distributed, quiet)
    signal.signal(signal.SIGTERM, driver.request_stop)
    signal.signal(signal.SIGINT, driver.request_stop)
    try:
        run_loop([run], driver)
        if recorder is not None and driver.outcome in (STOPPING, NONFINITE):
            _finish(recorder, driver)
    finally:
        driver.progress.close()
        if recorder is not None:
            if driver.failure is not None:  # a `failed` event (so the run lists as failed) if the disk takes it
                recorder.finish("failed", message=describe_write_error(driver.failure))
            try:
                recorder.close()  # an interrupt ends here without an event; the lock is released
            except OSError:
                pass  # the failure is already reported once; a flush on a full disk fails again
    if driver.failure is not None:
        raise driver.failure
    if driver.outcome == WRITE_FAILED:
        raise ValueError("stopped: rank 0 could not write the run directory; see its message")
    if distributed.is_main:
        print(f"run directory: {paths.root}  steps: {trainer.step_count}")
    return 1 if driver.outcome == NONFINITE else 0


def _finish(recorder, driver: _CliDriver) -> None:
    """nonfinite: no checkpoint from the bad weights; finish/stop: a last grid and checkpoint."""
    reason = "nonfinite" if driver.outcome == NONFINITE else "stop" if driver.signalled else "finish"
    try:
        recorder.finish(reason)
    except (OSError, RuntimeError) as error:
        cause = write_error(error)
        if cause is None:
            raise
        if recorder.finished is None:  # the last grid or checkpoint failed; a failed close alone
            driver.failure = located(cause, recorder.paths.root)  # leaves the run's end written, as it did
    if driver.outcome == NONFINITE:
        sys.stderr.write(f"error: non-finite loss at step {recorder.trainer.step_count}; the last good "
                         f"checkpoint is kept; resume with a lower learning rate\n")


def _record_failure(root: Path, message: str, held: bool) -> None:
    """A `failed` event in a run directory whose setup could not write (a resume on a full disk), if the disk
    takes it. held: this process owns the run already; else it takes the lock for the one line, and writes
    nothing when another process owns the run or the folder is not a run of ours."""
    from gan_core.record.recorder import EventLog
    from gan_core.runs.listing import last_logged_step
    from gan_core.runs.lock import acquire_run_lock, release_run_lock
    from gan_core.runs.paths import RunPaths

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


def agree(value: int, distributed: DistributedInfo) -> int:
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
