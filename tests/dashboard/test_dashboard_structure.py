"""The dashboard's shape: its import rules catch a view importing a view, a message builder importing Streamlit
and the feed importing the page; no fragment reruns carry live data; shared JavaScript lives in one module
and what the charts draw is declared in Python only."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from dashboard.live import spec

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "dashboard" / "static"
COMPONENT_MODULES = ("live_status.js", "live_charts.js", "live_images.js", "playground.js", "live_picture.js")


def _lint(root: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--no-cache", str(root / "pyproject.toml")], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300)


def test_the_dashboard_contracts_catch_planted_violations(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in ("gan_core", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "__init__.py" or package == "dashboard":  # the packages' shape without their code
                target = tmp_path / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("")
    for name in ("files.py", "columns.py"):
        (tmp_path / "gan_core" / name).write_text("")
    (tmp_path / "streamlit").mkdir()
    (tmp_path / "streamlit" / "__init__.py").write_text("")
    (tmp_path / "dashboard" / "views" / "ab.py").write_text("from dashboard.views import training\n")
    (tmp_path / "dashboard" / "live" / "messages.py").write_text("import streamlit\n")
    (tmp_path / "dashboard" / "live" / "feed.py").write_text("from dashboard.views.runs import page\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert "dashboard.views.ab -> dashboard.views.training" in out  # no view imports another
    assert "dashboard.live.messages -> streamlit" in out  # message builders import no Streamlit
    assert "dashboard.live.feed -> dashboard.views.runs.page" in out  # the feed imports no view


def _calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)]


def test_no_fragment_reruns_carry_live_data():
    found = [f"{path.relative_to(ROOT)}:{call.lineno}" for path in (ROOT / "dashboard").rglob("*.py")
             for call in _calls(path)
             if (isinstance(call.func, ast.Attribute) and call.func.attr == "fragment")
             or any(keyword.arg == "run_every" for keyword in call.keywords)]
    assert found == []
    assert not (ROOT / "dashboard" / "server.py").exists()  # one entry: app.py, whichever way it is started


def test_shared_javascript_lives_in_one_module_that_every_component_imports():
    shared = (STATIC / "shared.js").read_text(encoding="utf-8")
    exported = set(re.findall(r"^export (?:async )?function (\w+)", shared, re.M))
    assert {"join", "kick", "pace", "setPace", "decode", "loadImage", "sharpScale"} <= exported
    for name in COMPONENT_MODULES:
        code = (STATIC / name).read_text(encoding="utf-8")
        assert 'import(new URL("_gw/static/shared.js"' in code, name
        defined = set(re.findall(r"^(?:async )?function (\w+)", code, re.M))
        assert not defined & {"join", "kick", "hubLoop", "fetchParts", "decode", "loadImage", "pace"}, name


def test_what_the_charts_draw_is_declared_in_python_only():
    charts_js = "".join((STATIC / name).read_text(encoding="utf-8")
                        for name in ("live_charts.js", "chart_rows.js", "chart_draw.js"))
    for colour, _ in spec.EVENT_STYLES.values():
        assert colour not in charts_js  # event colours come with the component's spec
    for chart in spec.TRAINING_CHARTS:
        assert chart["title"] not in charts_js
    assert "d_loss" not in charts_js and "grad_norm_g" not in charts_js  # columns too
    playground_js = (STATIC / "playground.js").read_text(encoding="utf-8")
    assert "2000" not in playground_js  # the drawn-points maximum is gan_core.config.schema.MAX_DRAWN_POINTS
    client = spec.client_spec(spec.training_charts())
    assert client["columns"] == list(spec.CHART_COLUMNS) and set(client["events"]) == set(spec.MARKED_EVENTS)
    assert all(series["column"] in spec.CHART_COLUMNS or chart.get("quality")
               for chart in client["charts"] for series in chart["series"])
