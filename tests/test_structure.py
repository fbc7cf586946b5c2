"""The code's shape, checked by reading it (AST scans, no training): which way imports point, and who
may touch a TrainingSession's private state. The last test plants each kind of violation in a small
tree and checks that the scans catch it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest  # imported here, the conftest guard watches it

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("dashboard", "gan_core", "benchmarks", "tests")  # every folder that might reach into a session
SESSION_FILE = Path("gan_core") / "control" / "session.py"


def python_files(root: Path, folder: str) -> list[Path]:
    """The .py files under root/folder, sorted."""
    return sorted((root / folder).rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    """gan_core/runs/paths.py -> gan_core.runs.paths; gan_core/__init__.py -> gan_core."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(root: Path, path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (lazy imports in functions too), as absolute
    names; `from package import module` names the module, and import_module("x") / __import__("x") count."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(root, path).rpartition(".")[0] if path.name != "__init__.py" else module_name(root, path)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            for alias in node.names:
                if (root / Path(*f"{base}.{alias.name}".split("."))).with_suffix(".py").is_file():
                    found.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__"):
                found.add(node.args[0].value)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """package's modules -> the modules of that package each imports."""
    graph = {}
    for path in python_files(root, package):
        name = module_name(root, path)
        graph[name] = {m for m in imported_modules(root, path) if m == package or m.startswith(package + ".")}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module start imports, directly or through others."""
    seen, todo = set(), list(graph.get(start, ()))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def foreign_imports(root: Path, package: str, forbidden: tuple[str, ...]) -> list[str]:
    """`file: module` for each import in package of a module that is or lies under one of forbidden."""
    hits = []
    for path in python_files(root, package):
        for name in sorted(imported_modules(root, path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                hits.append(f"{path.relative_to(root)}: {name}")
    return hits


def session_private_names(root: Path) -> set[str]:
    """The private names of TrainingSession: its `self._x` attributes and `_x` methods (dunders aside)."""
    tree = ast.parse((root / SESSION_FILE).read_text(encoding="utf-8"))
    [session] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TrainingSession"]
    names = set()
    for node in ast.walk(session):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def private_uses(root: Path, names: set[str], folders: tuple[str, ...] = SCANNED) -> list[str]:
    """`file:line name` wherever code outside session.py reads or writes one of names on an object
    other than its own `self`, or names it in a string (getattr, monkeypatch.setattr, ...)."""
    hits = []
    for folder in folders:
        for path in python_files(root, folder):
            relative = path.relative_to(root)
            if relative == SESSION_FILE or path.resolve() == Path(__file__).resolve():  # the owner; this guard
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Attribute) and node.attr in names \
                        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    hits.append((str(relative), node.lineno, node.attr))
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                    hits.append((str(relative), node.lineno, repr(node.value)))
    return [f"{file}:{line} {name}" for file, line, name in sorted(hits)]


def defined_names(path: Path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments), not those it imports."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def reexported_imports(root: Path, folders: tuple[str, ...] = SCANNED) -> list[str]:
    """`file:line name from module` for each `from gan_core.x import name` where gan_core/x.py (not a package's
    __init__) does not define name and name is not a submodule: an import through a compatibility re-export."""
    hits = []
    for folder in folders:
        for path in python_files(root, folder):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                        and node.module.split(".")[0] == "gan_core"):
                    continue
                module = root / Path(*node.module.split("."))
                if not module.with_suffix(".py").is_file():
                    continue  # a package: its names are submodules
                defined = defined_names(module.with_suffix(".py"))
                for alias in node.names:
                    if alias.name not in defined:
                        hits.append(f"{path.relative_to(root)}:{node.lineno} {alias.name} from {node.module}")
    return hits


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Modules that import themselves through others."""
    return sorted(name for name in graph if name in reachable(graph, name))


# ---- the rules ------------------------------------------------------------------------------
# Which layer may import which is pyproject.toml's import-linter contract; these tests run it and check what it
# cannot say: imports made at run time, and who may touch a controller's private state.

def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter over root with root's pyproject.toml contracts (no cache: a planted tree changes)."""
    script = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(script), "--no-cache", "--config", str(root / "pyproject.toml")], cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and " KEPT" in result.stdout


@pytest.mark.slow
def test_importing_every_engine_module_loads_no_streamlit():
    names = sorted(module_name(ROOT, p) for p in python_files(ROOT, "gan_core"))
    code = (f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'dashboard', 'plotly')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_engine_has_no_import_cycles():
    assert cycles(import_graph(ROOT, "gan_core")) == []  # lazy imports inside functions count too


def test_only_session_py_touches_the_sessions_private_attributes():
    names = session_private_names(ROOT)
    assert {"_cond", "_mirror", "_trainer", "_recorder"} <= names  # the scan sees what it guards
    assert private_uses(ROOT, names) == []


def test_benchmarks_live_outside_the_engine():
    assert not list((ROOT / "gan_core").rglob("*bench*.py"))
    assert (ROOT / "benchmarks" / "engine_bench.py").is_file()


def test_every_import_names_the_module_that_defines_the_name():
    """No compatibility re-exports: `from gan_core.x import name` only where gan_core/x.py defines name."""
    assert reexported_imports(ROOT) == []


# ---- the checks themselves catch violations -------------------------------------------------

def test_the_contract_catches_a_planted_upward_import(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for package in ("gan_core", "dashboard"):
        for path in python_files(ROOT, package):
            if path.name == "__init__.py" or package == "dashboard":  # the packages' shape without their code
                target = tmp_path / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("")
    (tmp_path / "gan_core" / "files.py").write_text("")
    (tmp_path / "gan_core" / "columns.py").write_text("")
    (tmp_path / "gan_core" / "nets" / "models.py").write_text("from gan_core.engine import trainer\n")
    (tmp_path / "gan_core" / "engine" / "trainer.py").write_text("from gan_core.nets import models\n")
    (tmp_path / "dashboard" / "app.py").write_text("from gan_core.engine.trainer import x\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "gan_core.nets.models -> gan_core.engine.trainer" in result.stdout
    assert "dashboard.app -> gan_core.engine.trainer" in result.stdout


def test_the_scans_catch_planted_violations(tmp_path):
    (tmp_path / "gan_core" / "control").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (tmp_path / "gan_core" / "__init__.py").write_text("")
    (tmp_path / "gan_core" / "control" / "__init__.py").write_text("")
    (tmp_path / "gan_core" / "control" / "session.py").write_text(
        "class TrainingSession:\n    def __init__(self):\n        self._rows = []\n\n    def _log(self):\n"
        "        pass\n")
    (tmp_path / "gan_core" / "helper.py").write_text("x = 1\ndef f():\n    pass\n")
    (tmp_path / "gan_core" / "user.py").write_text("from gan_core.other import x\nfrom gan_core.helper import f\n")
    (tmp_path / "gan_core" / "other.py").write_text("from gan_core.helper import x\n")
    (tmp_path / "gan_core" / "a.py").write_text("import gan_core.b\n")
    (tmp_path / "gan_core" / "b.py").write_text("def f():\n    from gan_core import a\n")
    (tmp_path / "tests" / "test_x.py").write_text(
        "def test(session, monkeypatch):\n    session._rows.clear()\n"
        "    monkeypatch.setattr(session, '_log', None)\n")
    graph = import_graph(tmp_path, "gan_core")
    assert cycles(graph) == ["gan_core.a", "gan_core.b"]  # through a lazy import
    names = session_private_names(tmp_path)
    assert names == {"_rows", "_log"}
    assert private_uses(tmp_path, names, ("gan_core", "tests")) == ["tests/test_x.py:2 _rows",
                                                                    "tests/test_x.py:3 '_log'"]
    assert reexported_imports(tmp_path, ("gan_core",)) == ["gan_core/user.py:1 x from gan_core.other"]


# ---- the architecture doc names every module --------------------------------------------------

def package_map(doc: str) -> dict[str, str]:
    """docs/architecture.md's package map: each entry's first word (`control/`, `files.py`) -> its whole text."""
    block = doc.split("## The package map", 1)[1].split("\n## ", 1)[0]
    entries: dict[str, str] = {}
    key = None
    for line in block.splitlines():
        if line.startswith("      ") and line[6:7].strip():  # a new entry starts at the map's first column
            key = line.split()[0]
            entries[key] = line
        elif key is not None and line.startswith("        "):
            entries[key] += " " + line.strip()
    return entries


def undocumented_modules(root: Path, doc: str, package: str = "gan_core") -> list[str]:
    """The modules of package (outside __init__.py) that the package map does not name under their folder."""
    entries = package_map(doc)
    missing = []
    for path in python_files(root, package):
        relative = path.relative_to(root / package)
        if path.name == "__init__.py":
            continue
        if len(relative.parts) == 1:
            documented = relative.name in entries
        else:  # under its top folder's entry, with any folder between named there too (views/: explorer/ (page.py))
            text = entries.get(relative.parts[0] + "/", "")
            documented = all(re.search(rf"(?<![\w/.]){re.escape(part)}\b", text) is not None
                             for part in [*relative.parts[1:-1], relative.name])
        if not documented:
            missing.append(str(Path(package) / relative))
    return missing


def test_every_module_is_in_the_architecture_docs_package_maps():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert undocumented_modules(ROOT, doc) == []
    dashboard_map = "## The package map\n" + doc.split("## dashboard/", 1)[1]  # the page's own map
    assert undocumented_modules(ROOT, dashboard_map, "dashboard") == []


def test_the_doc_check_catches_a_module_left_out(tmp_path):
    (tmp_path / "gan_core" / "engine").mkdir(parents=True)
    for name in ("__init__.py", "files.py", "engine/__init__.py", "engine/trainer.py", "engine/new_loop.py"):
        (tmp_path / "gan_core" / name).write_text("")
    doc = ("## The package map\n\n    gan_core/\n      files.py    safe reads\n"
           "      engine/     trainer.py (the D and G phases),\n                  nothing else\n\n## Next\n")
    assert undocumented_modules(tmp_path, doc) == ["gan_core/engine/new_loop.py"]


# ---- tests import helpers from tests/support, never from each other ----------------------------

def is_test_module(name: str) -> bool:
    """A module pytest collects or configures: any dotted part test_* or conftest (tests.cli.test_cli, test_cli)."""
    return any(part == "conftest" or part.startswith("test_") for part in name.split("."))


def imports_of_test_modules(root: Path, folders: tuple[str, ...] = ("tests", "benchmarks")) -> list[str]:
    """`file: module` for each import of a test module or a conftest: shared helpers belong in tests/support."""
    hits = []
    for folder in folders:
        for path in python_files(root, folder):
            hits.extend(f"{path.relative_to(root)}: {name}" for name in sorted(imported_modules(root, path))
                        if is_test_module(name))
    return hits


def test_no_module_imports_a_test_module_or_conftest():
    assert imports_of_test_modules(ROOT) == []


def test_the_scan_catches_a_test_module_importing_another(tmp_path):
    (tmp_path / "tests" / "cli").mkdir(parents=True)
    (tmp_path / "tests" / "support").mkdir()
    (tmp_path / "benchmarks").mkdir()
    for name in ("conftest.py", "cli/test_cli.py", "support/__init__.py", "support/configs.py"):
        (tmp_path / "tests" / name).write_text("TINY = []\n")
    (tmp_path / "tests" / "test_a.py").write_text("from tests.cli.test_cli import TINY\nfrom tests import conftest\n"
                                                  "from tests.support.configs import TINY as fine\n")
    (tmp_path / "tests" / "cli" / "test_b.py").write_text("def f():\n    from .test_cli import TINY\n")
    (tmp_path / "tests" / "support" / "pages.py").write_text("import test_cli\n")
    (tmp_path / "benchmarks" / "bench.py").write_text("from tests.conftest import tiny_config\n")
    assert imports_of_test_modules(tmp_path) == [
        "tests/cli/test_b.py: tests.cli.test_cli", "tests/support/pages.py: test_cli",
        "tests/test_a.py: tests.cli.test_cli", "tests/test_a.py: tests.conftest",
        "benchmarks/bench.py: tests.conftest"]


def test_an_unmarked_test_cannot_load_the_page():
    """conftest's guard: AppTest in a test not marked apptest (or browser) fails, naming the mark to add."""
    with pytest.raises(pytest.fail.Exception, match="mark it @pytest.mark.apptest"):
        AppTest.from_file(str(ROOT / "dashboard" / "app.py"))
