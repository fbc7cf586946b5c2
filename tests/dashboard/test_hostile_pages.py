"""The page under hostile or unlucky files: names render as text, bad run directories never break it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.support.components import component_data
from tests.support.configs import TINY_CLI_ARGS
from tests.support.pages import APP

HOSTILE = "![t](http:127.0.0.1:9) `code` :red[x]"
# A FIFO read would block forever: the timeout makes it a failure.
pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def template_run(tmp_path_factory) -> Path:
    """One real 3-step run, trained once; tests copy it."""
    run_dir = tmp_path_factory.mktemp("template") / "run"
    subprocess.run([sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, "--steps", "3",
                    "--run-dir", str(run_dir)],
                   check=True, stdout=subprocess.DEVNULL)
    return run_dir


@pytest.fixture
def train(template_run):
    def copy(run_dir: Path) -> Path:
        shutil.copytree(template_run, run_dir)
        return run_dir
    return copy


def _texts(at) -> list[str]:
    """Every markdown source the page sent: markdown, captions, errors, warnings, infos."""
    return [e.value for kind in ("markdown", "caption", "error", "warning", "info") for e in getattr(at, kind)]


def _unescaped(text: str, token: str) -> bool:
    """Whether `token` occurs with its first character not backslash-escaped."""
    start = text.find(token)
    while start >= 0:
        if start == 0 or text[start - 1] != "\\":
            return True
        start = text.find(token, start + 1)
    return False


def test_a_hostile_run_name_renders_as_plain_text_in_every_view(runs_root, train):
    run = train(runs_root / HOSTILE)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Runs").run()
    assert not at.exception
    for text in _texts(at):  # the runs table and the resume list, before the run is opened
        for token in ("![", "](", "`c", ":red["):
            assert not _unescaped(text, token), text
    at.multiselect(key="runs.chosen").set_value([run.name]).run()
    at.button(key="runs.delete").click().run()  # the confirmation names the run
    assert not at.exception
    texts = _texts(at)
    assert any("\\!\\[t\\]" in t for t in texts)
    for text in texts:
        for token in ("![", "](", "`c", ":red["):
            assert not _unescaped(text, token), text


def test_a_hostile_run_meta_file_renders_as_plain_text(runs_root, train):
    run = train(runs_root / "ok")
    (run / "run_meta.json").write_text(json.dumps({"display_name": HOSTILE, "tags": [HOSTILE, 5], "note": HOSTILE}))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Runs").run()
    at.multiselect(key="runs.chosen").set_value([run.name]).run()
    assert not at.exception
    texts = _texts(at)
    assert sum("\\!\\[t\\]" in t for t in texts) >= 1  # the tags/note caption
    # The run line is the live status component's text: the browser sets it with textContent, never as markup.
    lines = [text for _, text in component_data(at, "runs.status")["initial"]["lines"]]
    assert any(HOSTILE.split()[0] in line for line in lines)
    for text in texts:
        for token in ("![", "](", "`c", ":red["):
            assert not _unescaped(text, token), text


def test_a_checkpoint_error_naming_a_hostile_key_is_plain_text(runs_root, tmp_path, train):
    run = train(runs_root / "ok")
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)
    state["config"][HOSTILE] = 1  # an unknown config key: the refusal names it
    crafted = runs_root / "crafted.pt"  # inside the runs root: the page names the problem (outside: one message)
    torch.save(state, crafted)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Latent explorer").run()
    at.radio(key="explore.source").set_value("Checkpoint file").run()
    at.text_input(key="explore.path").set_value(str(crafted)).run()
    errors = [e.value for e in at.error]
    assert errors and "\\!\\[t\\]" in errors[0]
    assert not any(_unescaped(e, "![") or _unescaped(e, "](") for e in errors)


@pytest.mark.parametrize("make_bad", [
    lambda run: (run / "config.json").write_text("[]"),
    lambda run: (run / "config.json").write_text("null"),
    lambda run: (run / "config.json").write_text('{"model": 5}'),
    lambda run: (run / "config.json").write_bytes(b"\xff\xfe not utf-8"),
    lambda run: (run / "config.json").write_text("[" * 100_000 + "]" * 100_000),
    lambda run: ((run / "metrics.csv").unlink(), os.mkfifo(run / "metrics.csv")),
    lambda run: ((run / "events.jsonl").unlink(), os.mkfifo(run / "events.jsonl")),
    lambda run: ((run / "config.json").unlink(), os.mkfifo(run / "config.json")),
    lambda run: shutil.copy(run / "samples" / next(iter(os.listdir(run / "samples"))), run / "samples" / "step_final.png"),
], ids=["list", "null", "model-int", "not-utf8", "deep", "fifo-metrics", "fifo-events", "fifo-config", "stray-grid"])
def test_one_bad_run_directory_never_breaks_the_page(runs_root, make_bad, train):
    good, bad = train(runs_root / "good"), train(runs_root / "bad")
    make_bad(bad)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.radio(key="view").set_value("Runs").run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "status" in df.value.columns)
    statuses = dict(zip(table["run"], table["status"]))
    assert statuses["good"] in ("finished", "stopped")
    options = at.multiselect(key="runs.chosen").options
    assert "good" in options
    at.multiselect(key="runs.chosen").set_value(["good"] + (["bad"] if "bad" in options else [])).run()
    assert not at.exception
