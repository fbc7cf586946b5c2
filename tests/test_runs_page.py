"""The Runs tab (AppTest): follow a run the CLI is training in another process; compare finished runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gan_core.__main__ import main as cli
from gan_core.runs import config_differences
from tests.test_cli import TINY

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(root))
    st.cache_resource.clear()
    yield root
    st.cache_resource.clear()


def _run_line(at) -> tuple[str, int]:
    line = next(m.value for m in at.markdown if "· status **" in m.value)
    return re.search(r"status \*\*(\w+)\*\*", line).group(1), int(re.search(r"steps \*\*(\d+)\*\*", line).group(1))


def test_follows_a_cli_run_while_it_grows_then_shows_it_finished(runs_root):
    process = subprocess.Popen([sys.executable, "-m", "gan_core", "train", *TINY, "--seconds", "8",
                                "--runs-root", str(runs_root)], env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(runs_root.glob("*/metrics.csv")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.radio(key="view").set_value("Runs").run()
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
        assert cli(["train", *TINY, "--steps", "15", "--runs-root", str(runs_root), "--set", f"lr_g={lr}"]) == 0
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


def test_config_differences_names_only_differing_fields():
    a = {"name": "x", "optimizer": {"lr_g": 1e-3, "lr_d": 2e-4}, "training": {"seed": 0}}
    b = {"name": "x", "optimizer": {"lr_g": 2e-4, "lr_d": 2e-4}, "training": {"seed": 1}}
    assert config_differences({"a": a, "b": b}) == {"optimizer.lr_g": {"a": 1e-3, "b": 2e-4},
                                                    "training.seed": {"a": 0, "b": 1}}
    assert config_differences({"a": a, "c": dict(a)}) == {}
