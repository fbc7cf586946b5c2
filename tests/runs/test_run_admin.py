"""Run metadata (name, tags, note), deletion rules and the effective config over time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gan_core.config.schema import RunConfig
from gan_core.runs.admin import (MAX_META_BYTES, META_NAME, RunMeta, config_timeline, delete_refusal, delete_run,
                                 describe_timeline, parse_tags, read_meta, run_config_timeline, timeline_differences,
                                 update_meta)
from gan_core.runs.lock import acquire_run_lock, release_run_lock


def make_run(root: Path, name: str, events: list[dict] | None = None, **changes) -> Path:
    """A finished run directory without training: config.json and events.jsonl."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(RunConfig().with_changes(changes).to_json(), encoding="utf-8")
    lines = [{"time": 1.0, "kind": "start", "step": 0}, *(events or []), {"time": 2.0, "kind": "finish", "step": 9}]
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return run


def test_meta_round_trip_keeps_the_folder_name(tmp_path):
    run = make_run(tmp_path, "20260101-000000-run")
    assert read_meta(run) == RunMeta()
    saved = update_meta(tmp_path, run, display_name="  lr sweep  #1 ", tags=parse_tags("baseline, lr, baseline,, "))
    assert saved == RunMeta(display_name="lr sweep #1", tags=("baseline", "lr"), note="")
    update_meta(tmp_path, run, note="D wins after step 400")
    assert read_meta(run) == RunMeta("lr sweep #1", ("baseline", "lr"), "D wins after step 400")
    assert run.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["20260101-000000-run"]
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]  # the temp file was renamed into place


@pytest.mark.parametrize("content", [
    b"[1, 2]", b"not json", b"\xff\xfe", b'{"display_name": 5, "tags": "abc", "note": ["x"]}',
    b'{"display_name": "ok", "tags": [1, "good", {"a": 1}], "note": null}',
])
def test_hostile_meta_files_are_vetted(tmp_path, content):
    run = make_run(tmp_path, "run")
    (run / META_NAME).write_bytes(content)
    meta = read_meta(run)
    assert isinstance(meta.display_name, str) and isinstance(meta.note, str)
    assert all(isinstance(tag, str) for tag in meta.tags)
    if b"good" in content:
        assert meta == RunMeta("ok", ("good",), "")


def test_oversized_or_fifo_meta_is_ignored_and_long_text_is_cut(tmp_path):
    run = make_run(tmp_path, "run")
    (run / META_NAME).write_text(json.dumps({"display_name": "x" * (MAX_META_BYTES + 1)}))
    assert read_meta(run) == RunMeta()
    (run / META_NAME).unlink()
    os.mkfifo(run / META_NAME)
    assert read_meta(run) == RunMeta()  # never blocks on a FIFO
    (run / META_NAME).unlink()
    saved = update_meta(tmp_path, run, display_name="n" * 500, tags=[f"t{i}" * 40 for i in range(50)], note="z" * 9999)
    assert len(saved.display_name) == 80 and len(saved.tags) == 16 and len(saved.note) == 2000
    assert all(len(tag) <= 32 for tag in saved.tags)


def test_meta_is_never_written_through_a_link_out_of_the_runs_root(tmp_path):
    root, outside = tmp_path / "runs", tmp_path / "outside"
    target = make_run(outside, "elsewhere")
    root.mkdir()
    (root / "link").symlink_to(target)
    with pytest.raises(ValueError, match="link"):
        update_meta(root, root / "link", display_name="x")
    with pytest.raises(ValueError, match="not directly inside"):
        update_meta(root, target, display_name="x")
    assert not (target / META_NAME).exists()


def test_delete_removes_a_finished_run_and_only_inside_the_root(tmp_path):
    root = tmp_path / "runs"
    keep, gone = make_run(root, "keep"), make_run(root, "gone")
    (gone / "checkpoints").mkdir()
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    (gone / "checkpoints" / "escape").symlink_to(outside)  # rmtree removes the link, not its target
    assert delete_refusal(root, gone) is None
    delete_run(root, gone)
    assert not gone.exists() and keep.is_dir() and outside.read_text() == "keep me"
    (root / "linked").symlink_to(keep)
    with pytest.raises(ValueError, match="link"):
        delete_run(root, root / "linked")
    (root / "plain-folder").mkdir()
    with pytest.raises(ValueError, match="not a run directory"):
        delete_run(root, root / "plain-folder")
    with pytest.raises(ValueError, match="no longer exists"):
        delete_run(root, root / "gone")
    assert keep.is_dir() and (root / "plain-folder").is_dir()


def test_delete_refuses_a_run_owned_by_a_live_process_and_the_current_run(tmp_path):
    root = tmp_path / "runs"
    run = make_run(root, "owned")
    acquire_run_lock(run)  # this test's own pid: alive
    try:
        reason = delete_refusal(root, run)
        assert reason is not None and f"pid {os.getpid()}" in reason
        with pytest.raises(ValueError, match="live process"):
            delete_run(root, run)
    finally:
        release_run_lock(run)
    assert delete_refusal(root, run, current_run=str(run)).startswith("this is the page's current run")
    assert run.is_dir()
    assert delete_refusal(root, run) is None


def test_delete_refuses_a_run_whose_files_are_still_growing(tmp_path):
    root = tmp_path / "runs"
    run = make_run(root, "growing")
    (run / "events.jsonl").write_text(json.dumps({"time": time.time(), "kind": "start", "step": 0}) + "\n")
    (run / "metrics.csv").write_text("step,d_loss\n1,0.5\n")  # just written, no end event: another writer
    assert "changed in the last" in delete_refusal(root, run)


def test_effective_config_over_time_adds_vetted_update_events(tmp_path):
    events = [{"kind": "update", "step": 40, "changes": {"lr_g": 1e-3}, "old": {"lr_g": 2e-4}},
              {"kind": "update", "step": 90, "changes": {"loss": "hinge", "batch_size": 7, "lr_d": {"x": 1}}},
              {"kind": "update", "step": 95, "changes": "not a dict"}]
    run = make_run(tmp_path, "run", events)
    rows = run_config_timeline(run)
    assert [r for r in rows if r["change"]] == [
        {"step": 40, "field": "optimizer.lr_g", "value": 1e-3, "change": True},
        {"step": 90, "field": "loss.loss", "value": "hinge", "change": True}]
    start = {r["field"]: r["value"] for r in rows if not r["change"]}
    assert start["optimizer.lr_g"] == 2e-4 and start["training.batch_size"] == 100 and all(
        r["step"] == 0 for r in rows if not r["change"])
    described = describe_timeline(rows)
    assert described["optimizer.lr_g"] == "0.0002 → 0.001 (step 40)" and described["model.latent_dim"] == "64"


def test_timeline_differences_include_live_changes():
    config = RunConfig().to_dict()
    changed = [{"kind": "update", "step": 5, "changes": {"lr_g": 1e-3}}]
    differences = timeline_differences({"a": config_timeline(config, []), "b": config_timeline(config, changed)})
    assert differences == {"optimizer.lr_g": {"a": "0.0002", "b": "0.0002 → 0.001 (step 5)"}}
    assert timeline_differences({"a": config_timeline(config, []), "c": config_timeline(config, [])}) == {}


def test_a_field_an_older_config_lacks_starts_at_its_default_in_the_settings_tables():
    new = RunConfig().to_dict()
    old = RunConfig().to_dict()
    del old["loss"]["r1_gamma"], old["loss"]["r1_interval"]  # written before R1 existed
    assert timeline_differences({"old": config_timeline(old, []), "new": config_timeline(new, [])}) == {}
    stronger = RunConfig().with_changes({"loss.r1_gamma": 1.0}).to_dict()
    assert timeline_differences({"old": config_timeline(old, []), "r1": config_timeline(stronger, [])}) == {
        "loss.r1_gamma": {"old": "0.0", "r1": "1.0"}}
