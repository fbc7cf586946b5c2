"""Acting on runs: this run's checkpoints, open a checkpoint in the explorer, downloads, rename/tag/note,
delete with confirmation, resume a past run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.form.sidebar import request_config_load
from dashboard.live.runs_messages import CHECKPOINT_COLUMNS, checkpoint_rows, checkpoints
from dashboard.ui.keys import EXPLORE_REQUEST_KEY, EXPLORE_VIEW, VIEW_KEY
from dashboard.ui.text import plain
from gan_core.control.session import ACTIVE, TrainingSession
from gan_core.control.snapshot import Snapshot
from gan_core.files import UnreadableFile, read_bytes
from gan_core.runs.admin import RunMeta, checked_run_dir, delete_refusal, delete_run, parse_tags, update_meta
from gan_core.runs.listing import RunSummary
from gan_core.runs.paths import RunPaths

MESSAGE_KEY = "runs.message"
CONFIRM_KEY = "runs.confirm_delete"
CHECKPOINT_KEY = "runs.checkpoint"
CHOSEN_CHECKPOINT_KEY = "runs.checkpoint.chosen"  # the user's pick, kept apart from the widget's own state
MAX_DOWNLOAD_BYTES = 512 << 20


def checkpoint_table(paths: RunPaths) -> pd.DataFrame:
    """A run's checkpoints (step_, manual_, best.pt, then latest.pt), regular files only, by step."""
    return pd.DataFrame(checkpoint_rows(paths), columns=list(CHECKPOINT_COLUMNS))


def render_current_run(session: TrainingSession, snapshot: Snapshot) -> None:
    """This run: save a checkpoint now (its checkpoints are listed live in the Runs view's status below)."""
    st.subheader("This run")
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.button("Save checkpoint now", key="btn.save_checkpoint", on_click=session.save_checkpoint,
                disabled=snapshot.status not in ("running", "paused"),
                help="Kept as manual_<step>.pt, never pruned.")
    right.caption(f"The current run: {plain(Path(snapshot.run_dir).name)}; its checkpoints are listed below "
                  "the runs table.")


def render_message() -> None:
    """The outcome of the last rename, delete or open, once."""
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(plain(text))


def render_manage(runs_root: Path, run: RunSummary, meta: RunMeta, current_run: str | None) -> None:
    """One chosen run's actions: open a checkpoint in the explorer, downloads, and, for a run in this page's
    runs folder, name/tags/note and delete."""
    paths = RunPaths(run.path)
    if meta.tags or meta.note:
        st.caption(" · ".join(([f"tags: {plain(', '.join(meta.tags))}"] if meta.tags else [])
                              + ([f"note: {plain(meta.note, limit=2000)}"] if meta.note else [])))
    files = checkpoints(paths)
    open_column, download_column = st.columns([3, 2], vertical_alignment="bottom")
    if files:
        labels = {str(path): f"{path.name} (step {step})" if step >= 0 and path != paths.latest else path.name
                  for step, path in files}
        _set_checkpoint_choice(paths, labels)
        choice = open_column.selectbox("Checkpoint", list(labels), key=CHECKPOINT_KEY,
                                       format_func=lambda path: labels.get(path, path), on_change=_remember_checkpoint,
                                       help="latest.pt is the newest; best.pt the best FID so far.")
        open_column.button("Open in latent explorer", key="runs.explore", type="primary",
                           on_click=open_in_explorer, args=(choice,))
        download_column.download_button("Download checkpoint", lambda: _file_bytes(Path(choice)),
                                        Path(choice).name, "application/octet-stream",
                                        key="runs.download.checkpoint", on_click="ignore")
    else:
        open_column.caption("No checkpoint yet: nothing to explore.")
    download_column.download_button("Download metrics.csv", lambda: _file_bytes(paths.metrics), "metrics.csv",
                                    "text/csv", key="runs.download.metrics", on_click="ignore")
    try:
        checked_run_dir(runs_root, run.path)
    except ValueError:  # a folder typed in above: looked at, never changed
        st.caption(f"Renaming and deleting work on the runs in this page's runs folder, {plain(runs_root)}.")
        return
    with st.expander("Name, tags and note", expanded=False):
        render_meta_form(runs_root, run, meta)
    render_delete(runs_root, run, current_run)


def _remember_checkpoint() -> None:
    st.session_state[CHOSEN_CHECKPOINT_KEY] = st.session_state.get(CHECKPOINT_KEY)


def _set_checkpoint_choice(paths: RunPaths, labels: dict[str, str]) -> None:
    """Put the picker on the user's own pick while that file exists, else on latest.pt (the last option).

    A live run adds and prunes checkpoint files every few seconds; the widget alone would drift to
    another file as its options shift, so the pick is kept by path and set again on every rerun.
    """
    options = list(labels)
    chosen = st.session_state.get(CHOSEN_CHECKPOINT_KEY)
    if chosen is not None and chosen not in labels and Path(chosen).parent == paths.checkpoints:
        st.caption(f"{plain(Path(chosen).name)} is gone: the run keeps only its newest checkpoints. "
                   "Showing latest.pt.")
        st.session_state.pop(CHOSEN_CHECKPOINT_KEY)
        chosen = None
    st.session_state[CHECKPOINT_KEY] = chosen if chosen in labels else options[-1]


def render_meta_form(folder: Path, run: RunSummary, meta: RunMeta) -> None:
    """Display name, tags and note, saved to run_meta.json (the folder's own name never changes)."""
    keys = meta_keys(run.path.name)
    with st.form(key=f"runs.meta.{run.path.name}", border=False):
        st.text_input("Display name", meta.display_name, key=keys["name"], max_chars=80,
                      placeholder=run.path.name, help="Shown instead of the folder name; empty shows the folder name.")
        st.text_input("Tags (comma-separated)", ", ".join(meta.tags), key=keys["tags"],
                      help="Short labels, e.g. baseline, lr-sweep.")
        st.text_area("Note", meta.note, key=keys["note"], max_chars=2000, height=80)
        st.form_submit_button("Save name, tags and note", key="runs.meta.save", on_click=_save_meta,
                              args=(folder, run.path))


def meta_keys(run_name: str) -> dict[str, str]:
    """The session_state keys of one run's name, tags and note inputs (one set per run)."""
    return {part: f"runs.meta.{part}.{run_name}" for part in ("name", "tags", "note")}


def _save_meta(folder: Path, run_dir: Path) -> None:
    keys = meta_keys(run_dir.name)
    try:
        meta = update_meta(folder, run_dir, display_name=st.session_state.get(keys["name"], ""),
                           tags=parse_tags(st.session_state.get(keys["tags"], "")),
                           note=st.session_state.get(keys["note"], ""))
        st.session_state[MESSAGE_KEY] = ("ok", f"Saved: {meta.display_name or run_dir.name}"
                                               + (f" · tags {', '.join(meta.tags)}" if meta.tags else ""))
    except (ValueError, OSError) as error:
        st.session_state[MESSAGE_KEY] = ("error", f"Not saved: {error}")


def render_delete(folder: Path, run: RunSummary, current_run: str | None) -> None:
    """Delete with a confirmation step; refused (button off, reason shown) for a live or current run."""
    name = run.path.name
    refusal = delete_refusal(folder, run.path, current_run)
    if st.session_state.get(CONFIRM_KEY) == name and refusal is None:
        count = len(checkpoints(RunPaths(run.path)))
        st.warning(f"Delete **{plain(name)}** and all its files ({run.steps} steps, {count} checkpoint files)? "
                   "This cannot be undone.")
        yes, no, _ = st.columns([1, 1, 4])
        yes.button("Yes, delete it", key="runs.delete.confirm", type="primary", on_click=_delete,
                   args=(folder, run.path, current_run))
        no.button("Cancel", key="runs.delete.cancel", on_click=_ask_delete, args=(None,))
        return
    st.button("Delete this run...", key="runs.delete", disabled=refusal is not None,
              on_click=_ask_delete, args=(name,),
              help="Removes the run's folder after a confirmation step.")
    if refusal is not None:
        st.caption(f"Cannot delete: {plain(refusal)}.")


def _ask_delete(name: str | None) -> None:
    """Show (a run's name) or withdraw (None) the confirmation step."""
    st.session_state[CONFIRM_KEY] = name


def _delete(folder: Path, run_dir: Path, current_run: str | None) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        delete_run(folder, run_dir, current_run)  # checks again: the run may have come alive meanwhile
    except (ValueError, OSError) as error:
        st.session_state[MESSAGE_KEY] = ("error", str(error))
        return
    st.session_state["runs.chosen"] = [n for n in st.session_state.get("runs.chosen", []) if n != run_dir.name]
    st.session_state[MESSAGE_KEY] = ("ok", f"Deleted {run_dir.name}.")


def open_in_explorer(checkpoint: str) -> None:
    """Switch to the latent explorer with this checkpoint file loaded (callback: before any widget exists)."""
    st.session_state[EXPLORE_REQUEST_KEY] = checkpoint
    st.session_state[VIEW_KEY] = EXPLORE_VIEW


def _file_bytes(path: Path) -> bytes:
    """A run file for a download, read on click (regular files of at most 512 MB)."""
    try:
        return read_bytes(path, MAX_DOWNLOAD_BYTES)
    except (OSError, UnreadableFile) as error:
        return f"error: {error}\n".encode()


def render_resume(session: TrainingSession, snapshot: Snapshot, runs: list[RunSummary],
                  labels: dict[str, str]) -> None:
    """Resume a past run that no live process owns (its own settings come back in the sidebar)."""
    active = snapshot.status in ACTIVE
    st.subheader("Resume a past run")
    runs = [r for r in runs if str(r.path) != snapshot.run_dir or not active]
    if not runs:
        st.caption(f"No other runs under {plain(session.runs_root)} yet.")
        return
    options = {f"{labels.get(r.path.name, r.path.name)} · {r.steps} steps · {r.status}": r for r in runs}
    chosen = options[st.selectbox("Run directory", list(options), key="resume.run")]
    with st.expander("config.json"):
        st.json(chosen.config if isinstance(chosen.config, dict) else {})
    reason = not_resumable(chosen, active)
    if reason:
        st.caption(plain(reason))
    if st.button("Resume this run", key="btn.resume_run", disabled=bool(reason)):
        try:
            session.resume_run(chosen.path)
            resumed = session.snapshot(since=None).config
            if resumed is not None:
                request_config_load(resumed)  # the sidebar shows the run's own settings, so Apply stays away
            st.rerun()
        except (ValueError, RuntimeError) as error:
            st.error(plain(error))


def not_resumable(run: RunSummary, active: bool) -> str | None:
    """Why a listed run cannot be resumed from this page now, or None."""
    if active:
        return "Stop the current run to resume another."
    if run.owner:
        return f"This run is being trained by {run.owner}: open it above to follow it instead."
    if run.status == "live":
        return ("This run is still being written by another process (its metrics grew in the last seconds): "
                "open it above to follow it instead.")
    if run.status == "unreadable":
        return f"This run directory cannot be read: {run.reason}"
    return None
