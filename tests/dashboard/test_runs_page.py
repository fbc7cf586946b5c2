"""The Runs view (AppTest): follow a CLI run, compare runs (colours, quality, wall time, settings over time),
open any checkpoint in the explorer, rename/tag/note and delete runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_core.cli.main import main as cli
from gan_core.columns import QUALITY_COLUMNS, TOY_QUALITY_COLUMNS
from gan_core.runs.admin import config_timeline, timeline_differences
from gan_core.runs.metrics import read_metrics
from gan_core.runs.paths import RunPaths
from tests.support.configs import TINY_CLI_ARGS
from tests.support.components import run_line_of
from tests.support.pages import APP, choose_tiny_config

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


def _run_line(at) -> tuple[str, int]:
    """(status, steps) of the opened run, as the Runs view's live status was drawn with the page."""
    return run_line_of(at)


def test_follows_a_cli_run_while_it_grows_then_shows_it_finished(runs_root):
    at = AppTest.from_file(APP, default_timeout=120)  # the page is loaded first: the run is short
    at.run()
    at.radio(key="view").set_value("Runs").run()
    process = subprocess.Popen([sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, "--seconds", "8",
                                "--runs-root", str(runs_root)], env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(runs_root.glob("*/metrics.csv")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        at.run()
        (name,) = [p.name for p in runs_root.iterdir()]
        at.multiselect(key="runs.chosen").set_value([name]).run()
        status, first = _run_line(at)
        assert status == "live" and first > 0
        time.sleep(1.5)
        at.run()
        status, later = _run_line(at)
        assert status == "live" and later > first  # the page re-reads the growing run
    finally:
        assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    at.run()
    status, final = _run_line(at)
    assert status == "finished" and final >= later
    assert not at.exception


def test_comparing_two_finished_runs_overlays_curves_and_lists_differences(runs_root):
    for lr in ("2e-4", "1e-3"):
        assert cli(["train", *TINY_CLI_ARGS, "--steps", "15", "--runs-root", str(runs_root),
                    "--set", f"lr_g={lr}"]) == 0
    names = sorted(p.name for p in runs_root.iterdir())
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.radio(key="view").set_value("Runs").run()
    at.multiselect(key="runs.chosen").set_value(names).run()
    assert not at.exception
    differences = next(df.value for df in at.dataframe if "field" in df.value.columns)
    assert differences["field"].tolist() == ["optimizer.lr_g"]
    overlays = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
                if json.loads(chart.proto.spec)["layout"]["title"]["text"] == "d_loss"]
    assert len(overlays) == 1 and sorted(t["name"] for t in overlays[0]["data"]) == names


def config_differences(configs: dict) -> dict:
    """{field: {label: described start value}} where runs' configs differ (no live changes)."""
    return timeline_differences({label: config_timeline(config, []) for label, config in configs.items()})


def test_config_differences_names_only_differing_fields():
    a = {"name": "x", "optimizer": {"lr_g": 1e-3, "lr_d": 2e-4}, "training": {"seed": 0}}
    b = {"name": "x", "optimizer": {"lr_g": 2e-4, "lr_d": 2e-4}, "training": {"seed": 1}}
    assert config_differences({"a": a, "b": b}) == {"optimizer.lr_g": {"a": "0.001", "b": "0.0002"},
                                                    "training.seed": {"a": "0", "b": "1"}}
    assert config_differences({"a": a, "c": dict(a)}) == {}


def test_a_field_an_older_config_lacks_compares_as_its_default():
    old = {"loss": {"loss": "minimax"}}  # written before loss.r1_gamma existed
    new = {"loss": {"loss": "minimax", "r1_gamma": 1.0, "r1_interval": 16}}
    assert config_differences({"old": old, "new": new}) == {"loss.r1_gamma": {"old": "0.0", "new": "1.0"}}
    same = {"loss": {"loss": "minimax", "r1_gamma": 0.0}}
    assert config_differences({"old": old, "same": same}) == {}


# ---- one chosen run: open in the explorer, manage ------------------------------------------------

# quality.csv as runs before conditional_accuracy wrote it (8 columns); readers must still take it.
LEGACY_QUALITY_COLUMNS = ("step", "fid", "classes_covered", "kl_uniform", "precision", "recall", "diversity", "eval_s")
# Per template: (step, fid, classes_covered, precision, recall) of its two quality rows.
QUALITY_ROWS = {"slow": ((5, 80.0, 7, 0.5, 0.4), (10, 60.0, 8, 0.55, 0.45)),
                "fast": ((5, 70.0, 9, 0.6, 0.3), (10, 40.0, 10, 0.7, 0.35))}


def write_quality(run_dir: Path, columns: tuple[str, ...], rows) -> None:
    """quality.csv with the given header; the columns a row does not give are 0.1 (conditional_accuracy: NaN)."""
    lines = [",".join(columns)]
    for step, fid, classes, precision, recall in rows:
        values = {"step": step, "fid": fid, "classes_covered": classes, "precision": precision, "recall": recall,
                  "conditional_accuracy": "nan"}
        lines.append(",".join(str(values.get(column, 0.1)) for column in columns))
    (run_dir / "quality.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """Two real 12-step runs (lr_g 2e-4 and 1e-3; checkpoints at steps 5, 10 and 12), trained once, each
    with two quality rows: "slow" in the legacy 8-column quality.csv, "fast" in today's (QUALITY_COLUMNS)."""
    base = tmp_path_factory.mktemp("templates")
    runs = {}
    for name, lr_g, columns in (("slow", "2e-4", LEGACY_QUALITY_COLUMNS), ("fast", "1e-3", QUALITY_COLUMNS)):
        run_dir = base / name
        subprocess.run([sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, "--steps", "12", "--set",
                        "training.checkpoint_every=5", "--set", f"lr_g={lr_g}", "--run-dir", str(run_dir)],
                       check=True, stdout=subprocess.DEVNULL)
        write_quality(run_dir, columns, QUALITY_ROWS[name])
        runs[name] = run_dir
    return runs


@pytest.fixture
def copy_run(runs_root, templates):
    def copy(template: str, name: str) -> Path:
        return Path(shutil.copytree(templates[template], runs_root / name))
    return copy


def _runs_view(*chosen: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Runs").run()
    if chosen:
        at.multiselect(key="runs.chosen").set_value(list(chosen)).run()
    assert not at.exception
    return at


def _explorer_caption(at) -> str:
    """The explorer's "Loaded <file> at step <n>: ..." caption, markdown escapes taken off."""
    return re.sub(r"\\(.)", r"\1", next(c.value for c in at.caption if c.value.startswith("Loaded ")))


def test_open_in_explorer_shows_that_checkpoints_step(copy_run):
    run = copy_run("slow", "20260101-000000-slow")
    at = _runs_view(run.name)
    options = at.selectbox(key="runs.checkpoint").options
    assert options[-1] == "latest.pt" and "step_0000005.pt (step 5)" in options
    at.selectbox(key="runs.checkpoint").set_value(str(run / "checkpoints" / "step_0000005.pt")).run()
    at.button(key="runs.explore").click().run()
    assert not at.exception
    assert at.radio(key="view").value == "Latent explorer"
    assert at.radio(key="explore.source").value == "Checkpoint file"
    assert _explorer_caption(at).startswith("Loaded step_0000005.pt at step 5")
    assert any("seeds 0..15" in caption for image in at.image for caption in image.captions)


def test_the_chosen_checkpoint_holds_while_a_live_run_adds_and_prunes_files(copy_run):
    import shutil

    run = copy_run("slow", "20260101-000000-slow")
    checkpoints = run / "checkpoints"
    chosen = str(checkpoints / "step_0000005.pt")
    at = _runs_view(run.name)
    at.selectbox(key="runs.checkpoint").set_value(chosen).run()
    older = sorted(p for p in checkpoints.glob("step_*.pt") if p.name != "step_0000005.pt")
    for step in (20, 30):  # the run writes newer checkpoints and prunes older ones, as a live run does
        shutil.copy(checkpoints / "step_0000005.pt", checkpoints / f"step_{step:07d}.pt")
    for path in older[:1]:
        path.unlink()
    at.run()
    assert at.selectbox(key="runs.checkpoint").value == chosen
    at.button(key="runs.explore").click().run()
    assert _explorer_caption(at).startswith("Loaded step_0000005.pt at step 5")
    at.radio(key="view").set_value("Runs").run()
    (checkpoints / "step_0000005.pt").unlink()  # pruned while chosen: said so, never a silent switch
    at.run()
    assert any("step_0000005.pt is gone" in c.value.replace("\\", "") for c in at.caption)
    assert at.selectbox(key="runs.checkpoint").value.endswith("latest.pt")


def test_a_replaced_latest_pt_is_reloaded_in_the_explorer(copy_run):
    import torch

    from gan_core.runs.checkpoint import save_checkpoint

    run = copy_run("slow", "20260101-000000-slow")
    at = _runs_view(run.name)
    at.button(key="runs.explore").click().run()  # latest.pt, chosen by default
    assert "at step 12" in _explorer_caption(at)
    state = torch.load(run / "checkpoints" / "step_0000005.pt", weights_only=True)
    save_checkpoint(state, run / "checkpoints" / "latest.pt")  # atomic replace, as a resumed run does
    at.run()
    assert not at.exception
    assert "at step 5" in _explorer_caption(at)


def test_rename_tag_and_note_keep_the_folder_and_show_everywhere(copy_run, runs_root):
    run = copy_run("slow", "20260101-000000-slow")
    at = _runs_view(run.name)
    at.text_input(key=f"runs.meta.name.{run.name}").set_value("baseline lr")
    at.text_input(key=f"runs.meta.tags.{run.name}").set_value("baseline, sweep")
    at.text_area(key=f"runs.meta.note.{run.name}").set_value("D wins early")
    at.button(key="runs.meta.save").click().run()
    assert not at.exception
    assert [p.name for p in runs_root.iterdir()] == [run.name]  # the folder keeps its name
    meta = json.loads((run / "run_meta.json").read_text())
    assert meta == {"display_name": "baseline lr", "tags": ["baseline", "sweep"], "note": "D wins early"}
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    row = table[table["run"] == run.name].iloc[0]
    assert row["name"] == "baseline lr" and row["tags"] == "baseline, sweep"
    assert "baseline lr" in at.multiselect(key="runs.chosen").options
    assert any("D wins early" in c.value for c in at.caption)


def test_delete_asks_first_then_removes_the_run(copy_run, runs_root):
    keep, gone = copy_run("slow", "20260101-000000-keep"), copy_run("fast", "20260101-000001-gone")
    at = _runs_view(gone.name)
    at.button(key="runs.delete").click().run()
    assert gone.is_dir(), "deleted without asking"
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="runs.delete.cancel").click().run()
    assert gone.is_dir() and not [b for b in at.button if b.key == "runs.delete.confirm"]
    at.button(key="runs.delete").click().run()
    at.button(key="runs.delete.confirm").click().run()
    assert not at.exception
    assert not gone.exists() and keep.is_dir()
    assert at.multiselect(key="runs.chosen").value == []
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    assert table["run"].tolist() == [keep.name]


def test_a_run_owned_by_a_live_process_cannot_be_deleted(copy_run):
    from gan_core.runs.lock import acquire_run_lock, release_run_lock

    run = copy_run("slow", "20260101-000000-owned")
    acquire_run_lock(run)  # this test process: alive, so the run is live
    try:
        at = _runs_view(run.name)
        assert at.button(key="runs.delete").disabled
        assert any("Cannot delete" in c.value and "live process" in c.value for c in at.caption)
    finally:
        release_run_lock(run)
    assert run.is_dir()


def test_the_pages_own_run_cannot_be_deleted(runs_root):

    at = AppTest.from_file(APP, default_timeout=120).run()
    choose_tiny_config(at)
    at.button(key="btn.start").click().run()
    at.button(key="btn.pause").click().run()
    at.radio(key="view").set_value("Runs").run()
    (name,) = [p.name for p in runs_root.iterdir()]
    at.multiselect(key="runs.chosen").set_value([name]).run()
    try:
        assert at.button(key="runs.delete").disabled
        assert any("current run" in c.value for c in at.caption)
    finally:
        at.button(key="btn.stop").click().run()
    at.run()
    assert at.button(key="runs.delete").disabled  # still this page's run after Stop
    assert (runs_root / name).is_dir()


# ---- several runs: colours, quality, wall time, settings --------------------------------------

def _append_event(run: Path, event: dict) -> None:
    """One line of events.jsonl, as the session writes a live change."""
    with open(run / "events.jsonl", "a", encoding="utf-8") as file:
        file.write(json.dumps({"time": time.time(), **event}) + "\n")


def _array(value) -> list[float]:
    """A trace's x or y from a Plotly JSON spec: a list, or a typed array {dtype, bdata} (base64)."""
    import base64

    import numpy as np

    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def _overlays(at) -> dict[str, dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"]: spec for spec in specs}


def test_each_run_keeps_one_distinct_colour_in_every_overlay_with_quality(copy_run):
    runs = [copy_run("slow", "20260101-000000-slow"), copy_run("fast", "20260101-000001-fast"),
            copy_run("slow", "20260101-000002-again")]
    at = _runs_view(*(run.name for run in runs))
    overlays = _overlays(at)
    assert {"d_loss", "g_loss", "d_real", "d_fake", "fid"} <= set(overlays)  # quality is in by default
    colours = {}
    for title in ("d_loss", "g_loss", "fid"):
        traces = overlays[title]["data"]
        assert [t["name"] for t in traces] == [run.name for run in runs]
        assert len({t["line"]["color"] for t in traces}) == 3, title
        for trace in traces:
            assert colours.setdefault(trace["name"], trace["line"]["color"]) == trace["line"]["color"]
    # Each run's quality points as its quality.csv holds them, in the legacy and in today's columns alike.
    at.multiselect(key="runs.metrics").set_value(["fid", "precision", "recall", "classes_covered", "d_loss"]).run()
    overlays = _overlays(at)
    assert set(overlays) == {"fid", "precision", "recall", "classes_covered", "d_loss"}
    for index, column in ((1, "fid"), (2, "classes_covered"), (3, "precision"), (4, "recall")):
        traces = {t["name"]: t for t in overlays[column]["data"]}
        for run, template in zip(runs, ("slow", "fast", "slow")):
            assert _array(traces[run.name]["x"]) == [5, 10], (column, run.name)
            assert _array(traces[run.name]["y"]) == [row[index] for row in QUALITY_ROWS[template]], (column, run.name)


def test_one_run_in_todays_quality_columns_shows_its_quality_chart(copy_run):
    run = copy_run("fast", "20260101-000001-fast")
    assert read_metrics(RunPaths(run).quality).columns.tolist() == list(QUALITY_COLUMNS)
    at = _runs_view(run.name)
    charts = {spec["layout"]["title"]["text"]: spec for spec in map(json.loads, (c.proto.spec for c in
                                                                                  at.get("plotly_chart")))}
    traces = {t["name"]: t for t in charts["Sample quality"]["data"]}
    rows = QUALITY_ROWS["fast"]
    assert _array(traces["FID"]["x"]) == [5, 10] and _array(traces["FID"]["y"]) == [row[1] for row in rows]
    assert _array(traces["precision"]["y"]) == [row[3] for row in rows]
    assert _array(traces["recall"]["y"]) == [row[4] for row in rows]
    assert _array(traces["classes >= 2% (/10)"]["y"]) == [row[2] / 10 for row in rows]


def test_wall_time_axis_starts_at_each_runs_first_step(copy_run):
    runs = [copy_run("slow", "a"), copy_run("fast", "b")]
    at = _runs_view(*(run.name for run in runs))
    at.radio(key="runs.x").set_value("wall_time").run()
    assert not at.exception
    overlays = _overlays(at)
    assert overlays["d_loss"]["layout"]["xaxis"]["title"]["text"].startswith("wall time")
    for trace in overlays["d_loss"]["data"] + overlays["fid"]["data"]:
        assert 0 <= min(_array(trace["x"])) <= max(_array(trace["x"])) < 600
    assert all(_array(trace["x"])[0] == 0 for trace in overlays["d_loss"]["data"])


def test_differences_include_live_changes_as_text_without_an_arrow_fallback(copy_run):
    import logging

    slow, fast = copy_run("slow", "a-slow"), copy_run("fast", "b-fast")
    _append_event(fast, {"kind": "update", "step": 7, "changes": {"loss": "hinge", "d_steps_per_g_step": 2}})
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger("streamlit.dataframe_util")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.DEBUG
    try:
        at = _runs_view(slow.name, fast.name)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    differences = next(df.value for df in at.dataframe if "field" in df.value.columns)
    by_field = differences.set_index("field")
    assert by_field.index.tolist() == ["loss.loss", "optimizer.d_steps_per_g_step", "optimizer.lr_g"]
    assert by_field.loc["loss.loss", fast.name] == "non_saturating → hinge (step 7)"
    assert by_field.loc["optimizer.lr_g", slow.name] == "0.0002"
    changes = next(df.value for df in at.dataframe if "run" in df.value.columns and "value" in df.value.columns)
    assert changes[["run", "step", "field", "value"]].values.tolist() == [
        [fast.name, 7, "loss.loss", "hinge"], [fast.name, 7, "optimizer.d_steps_per_g_step", "2"]]
    assert not [r for r in records if "Arrow" in r.getMessage()], [r.getMessage() for r in records]


def test_one_run_shows_its_settings_over_time(copy_run):
    run = copy_run("slow", "20260101-000000-slow")
    _append_event(run, {"kind": "update", "step": 4, "changes": {"lr_g": 0.001}})
    at = _runs_view(run.name)
    table = next(df.value for df in at.dataframe if "field" in df.value.columns)
    assert table.values.tolist() == [[4, "optimizer.lr_g", "0.001"]]  # only the changes, by default
    at.toggle(key="runs.timeline.changes").set_value(False).run()
    table = next(df.value for df in at.dataframe if "field" in df.value.columns)
    assert [0, "optimizer.lr_g", "0.0002"] in table.values.tolist() and len(table) > 30


def test_the_chosen_runs_survive_a_visit_to_another_view(copy_run):
    runs = [copy_run("slow", "a"), copy_run("fast", "b")]
    at = _runs_view(*(run.name for run in runs))
    at.radio(key="view").set_value("Training").run()
    at.radio(key="view").set_value("Runs").run()
    assert at.multiselect(key="runs.chosen").value == ["a", "b"]


def test_runs_in_another_typed_folder_are_shown_but_never_renamed_or_deleted(runs_root, templates, tmp_path):
    elsewhere = tmp_path / "shared"
    run = Path(shutil.copytree(templates["slow"], elsewhere / "theirs"))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Runs").run()
    at.text_input(key="runs.folder").set_value(str(elsewhere)).run()
    at.multiselect(key="runs.chosen").set_value([run.name]).run()
    assert not at.exception
    assert any("Renaming and deleting work on the runs in this page's runs folder" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "runs.delete"]
    assert [b.key for b in at.button if b.key == "runs.explore"]  # still opened in the explorer
    assert run.is_dir() and not (run / "run_meta.json").exists()


def test_checkpoint_table_gives_latest_pt_the_step_of_the_file_it_links_to(copy_run):
    from dashboard.views.runs.actions import checkpoint_table

    run = copy_run("slow", "20260101-000000-slow")
    paths = RunPaths(run)
    newest = max(int(p.stem.split("_")[1]) for p in paths.checkpoints.glob("step_*.pt"))
    latest = paths.latest
    latest.unlink()
    os.link(paths.checkpoints / f"step_{newest:07d}.pt", latest)  # as the recorder writes it
    table = checkpoint_table(paths)
    assert table.loc[table.file == "latest.pt", "step"].tolist() == [str(newest)]
    latest.unlink()
    latest.write_bytes((paths.checkpoints / f"step_{newest:07d}.pt").read_bytes())  # a copy: no link
    table = checkpoint_table(paths)
    assert table.loc[table.file == "latest.pt", "step"].tolist() == ["–"] and None not in table.step.tolist()


TOY = ["--preset", "toy-ring", "--set", "data.limit=512", "--set", "model.hidden_dim=16", "--set", "batch_size=32",
       "--set", "eval_every=10", "--set", "eval_samples=200", "--quiet"]


def test_2d_toy_runs_show_and_compare_their_modes_and_divergence(runs_root):
    for loss in ("minimax", "non_saturating"):
        assert cli(["train", *TOY, "--steps", "30", "--runs-root", str(runs_root), "--set", f"loss.loss={loss}"]) == 0
    names = sorted(p.name for p in runs_root.iterdir())
    # The run wrote its quality.csv in TOY_QUALITY_COLUMNS; three known rows in those columns replace its own
    # (a 30-step run has time for one evaluation), so the page's points can be checked one by one.
    toy_rows = {}
    for offset, name in enumerate(names):
        path = RunPaths(runs_root / name).quality
        assert read_metrics(path).columns.tolist() == list(TOY_QUALITY_COLUMNS)
        toy_rows[name] = [{"step": step, "modes_covered": modes + offset, "modes_total": 8.0,
                           "high_quality_share": 0.5, "kl": 2.0, "js": js - 0.1 * offset, "eval_s": 0.01}
                          for step, modes, js in ((10, 1.0, 0.6), (20, 3.0, 0.4), (30, 6.0, 0.2))]
        path.write_text(",".join(TOY_QUALITY_COLUMNS) + "\n" + "".join(
            ",".join(str(row[column]) for column in TOY_QUALITY_COLUMNS) + "\n" for row in toy_rows[name]))
    at = _runs_view(names[0])
    charts = {spec["layout"]["title"]["text"]: spec
              for spec in (json.loads(chart.proto.spec) for chart in at.get("plotly_chart"))}
    for column, title in (("modes_covered", "2D toys: modes covered (quality)"),
                          ("js", "2D toys: JS divergence (quality)")):
        (trace,) = charts[title]["data"]
        assert _array(trace["x"]) == [10, 20, 30]
        assert _array(trace["y"]) == pytest.approx([row[column] for row in toy_rows[names[0]]]), title
    at.multiselect(key="runs.chosen").set_value(names).run()
    assert not at.exception
    assert at.multiselect(key="runs.metrics").value[:2] == ["modes_covered", "js"]  # toy quality first
    overlays = {json.loads(chart.proto.spec)["layout"]["title"]["text"]: json.loads(chart.proto.spec)
                for chart in at.get("plotly_chart")}
    assert sorted(t["name"] for t in overlays["js"]["data"]) == names
    for name in names:  # each run's own points, unsmoothed, in the comparison too
        for column in ("modes_covered", "js"):
            (trace,) = [t for t in overlays[column]["data"] if t["name"] == name]
            assert _array(trace["x"]) == [10, 20, 30]
            assert _array(trace["y"]) == pytest.approx([row[column] for row in toy_rows[name]]), (column, name)
