"""The run directory: create one, open one to resume; the names it re-exports keep their old home.

Recording into a run (and finishing, rewinding) is recorder.RunRecorder; names inside a run directory
are run_files.RunPaths; listing is run_listing; ownership is run_lock.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from gan_core.config.schema import RunConfig
from gan_core.data.datasets import data_from_file
from gan_core.engine.distributed import SINGLE_PROCESS, DistributedInfo
from gan_core.engine.trainer import Trainer
from gan_core.files import read_json, write_atomic
from gan_core.record.recorder import cut_back
from gan_core.runs.checkpoint import load_checkpoint, restore
from gan_core.runs.listing import DEFAULT_RUNS_ROOT
from gan_core.runs.lock import LOCK_NAME, acquire_run_lock, release_run_lock
from gan_core.runs.paths import RunPaths, clean_temp_files


def create_run_dir(config: RunConfig, runs_root: str | os.PathLike = DEFAULT_RUNS_ROOT,
                   run_dir: str | os.PathLike | None = None, lock: bool = True) -> RunPaths:
    """Make runs_root/<yyyymmdd-hhmmss>-<name>/ (or run_dir) with its subfolders and config.json.

    lock: this process owns the new directory (owner.lock) until release_run_lock or RunRecorder.close.
    """
    if run_dir is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        Path(runs_root).mkdir(parents=True, exist_ok=True)
        suffix = 1
        while True:  # mkdir without exist_ok: of two processes choosing the same name, one moves on
            root = Path(runs_root) / (f"{stamp}-{config.name}" + (f"-{suffix}" if suffix > 1 else ""))
            try:
                root.mkdir()
                break
            except FileExistsError:
                suffix += 1
    else:
        root = Path(run_dir)
        if root.exists() and not root.is_dir():
            raise ValueError(f"--run-dir {str(root)!r} exists and is not a folder: choose a new folder name")
        if root.is_dir() and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise ValueError(f"run directory {str(root)!r} already exists and is not empty: "
                             "choose a new one, or resume it")
        root.mkdir(parents=True, exist_ok=True)
    if lock:
        acquire_run_lock(root)
    try:
        if run_dir is not None and any(p.name != LOCK_NAME for p in root.iterdir()):
            raise ValueError(f"run directory {str(root)!r} was just filled by another process")
        paths = RunPaths(root)
        paths.checkpoints.mkdir(parents=True, exist_ok=True)
        paths.samples.mkdir(parents=True, exist_ok=True)
        write_atomic(paths.config, config.to_json() + "\n")
    except BaseException:
        release_run_lock(root)
        raise
    return paths


def open_run_for_resume(run_dir: str | os.PathLike, distributed: DistributedInfo = SINGLE_PROCESS,
                        allow_download: bool = False) -> tuple[Trainer, RunPaths]:
    """A Trainer restored from run_dir's latest.pt, with metrics.csv, quality.csv and events.jsonl cut back to
    that step (by rank 0).

    Rank 0 takes the run's lock first (RunLockedError while another process owns it) and removes
    temp files left by a kill. A run killed before its first checkpoint restarts from config.json at
    step 0. The file's data.download is ignored unless allow_download (the user asked for it).
    A run whose checkpoints/ or samples/ is a link, or whose per-step files are links or FIFOs, is refused
    (ValueError naming it) before anything is written.
    """
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise ValueError(f"run directory {str(paths.root)!r} does not exist")
    _check_run_folders(paths)
    if distributed.is_main:
        acquire_run_lock(paths.root)  # before anything is cut or removed
    try:
        if distributed.is_main:
            clean_temp_files(paths)
        if paths.latest.exists():
            state = load_checkpoint(paths.latest)
            trainer = Trainer(_no_download(RunConfig.from_dict(state["config"]), allow_download),
                              distributed=distributed)
            restore(trainer, state)
        else:
            trainer = Trainer(_no_download(_config_from_run(paths), allow_download), distributed=distributed)
        # Steps after the checkpoint will be trained (and evaluated) again: drop their rows and events so each
        # step appears once; the start/resume events before the checkpoint stay.
        if distributed.is_main:
            cut_back(paths, trainer.step_count)
    except BaseException:
        release_run_lock(paths.root)
        raise
    return trainer, paths


def _check_run_folders(paths: RunPaths) -> None:
    """checkpoints/ and samples/ are the run's own folders (or absent): a link is refused, never written into."""
    for folder in (paths.checkpoints, paths.samples):
        try:
            mode = folder.lstat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            raise ValueError(f"run directory {str(paths.root)!r}: {folder.name}/ is a link, not a folder of the "
                             "run: refused, nothing is written through a link")
        if not stat.S_ISDIR(mode):
            raise ValueError(f"run directory {str(paths.root)!r}: {folder.name} is not a folder")


def _config_from_run(paths: RunPaths) -> RunConfig:
    """A checkpoint-less run's config.json, to restart it from step 0; ValueError naming the problem."""
    if not paths.config.exists():
        raise ValueError(f"run directory {str(paths.root)!r} has neither checkpoints/latest.pt nor "
                         "config.json to resume from")
    try:
        return RunConfig.from_dict(read_json(paths.config))
    except ValueError as error:
        raise ValueError(f"run directory {str(paths.root)!r} has no checkpoint and its config.json "
                         f"cannot be used: {error}") from None


def _no_download(config: RunConfig, allow_download: bool) -> RunConfig:
    """A config read from a file never downloads by itself: only the user's own flag turns it on."""
    data = data_from_file(config.data, allow_download)
    return config if data == config.data else replace(config, data=data)
