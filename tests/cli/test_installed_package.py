"""The package as a user installs it: a wheel built from the checkout, installed into a fresh virtual environment
outside it (its dependencies reused from the test environment), trains with `gan-workbench train` and serves a
working page with `gan-workbench dashboard` from an empty folder: Start trains, and no image is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.browser import free_port, launch_browser, require_chromium, status_step, wait_until

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--preset", "seed-mlp", "--set", "data.limit=400", "--set", "model.hidden_dim=16",
        "--set", "model.latent_dim=8", "--set", "training.batch_size=16", "--set", "training.device=cpu",
        "--set", "training.eval_every=0", "--quiet"]
BROKEN_IMAGES_JS = """() => Array.from(document.querySelectorAll('img'))
    .filter(img => img.getClientRects().length > 0)
    .filter(img => !(img.complete && img.naturalWidth > 0)).length"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the built wheel; the test environment's site-packages on its path (as a plain
    path: its editable install of the checkout is not loaded). Returns the venv's bin folder."""
    folder = tmp_path_factory.mktemp("installed")
    source = folder / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    for name in ("gan_core", "dashboard"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(folder / "wheel")], check=True, cwd=folder)
    [wheel] = (folder / "wheel").glob("gan_workbench-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet",
                    str(wheel)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "venv" / "bin"


def run_in(folder: Path, *command: str) -> subprocess.CompletedProcess:
    """A command of the installed venv, from folder, with nothing of the checkout on its path."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(list(command), cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_the_page_and_installs_the_command(installed, tmp_path):
    where = run_in(tmp_path, str(installed / "python"), "-c",
                   "import gan_core, dashboard, pathlib; print(gan_core.__file__); "
                   "print(sorted(p.name for p in pathlib.Path(dashboard.__file__).parent.rglob('*.js')))")
    assert where.returncode == 0, where.stderr
    module_file, scripts = where.stdout.splitlines()
    assert str(ROOT) not in module_file and "site-packages" in module_file  # the installed copy, not the checkout
    assert ".js" in scripts  # the page's components shipped as package data
    usage = run_in(tmp_path, str(installed / "gan-workbench"), "--help")
    assert usage.returncode == 0
    for command in ("dashboard", "train", "sample", "interpolate", "evaluate", "ab", "bench", "export-tensorboard"):
        assert any(line.split()[:1] == [command] for line in usage.stdout.splitlines()), command


def test_the_installed_command_trains_from_an_empty_folder(installed, tmp_path):
    result = run_in(tmp_path, str(installed / "gan-workbench"), "train", *TINY, "--steps", "40",
                    "--runs-root", "runs")
    assert result.returncode == 0, result.stderr
    [run] = (tmp_path / "runs").iterdir()
    assert (run / "metrics.csv").read_text().count("\n") == 41  # the header and 40 rows
    assert list(run.glob("events.out.tfevents.*"))  # TensorBoard's copy too


@pytest.mark.browser
def test_the_installed_dashboard_trains_when_start_is_pressed(installed, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["GAN_WORKBENCH_RUNS"] = str(tmp_path / "runs")
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(installed / "gan-workbench"), "dashboard", "--port", str(port)], cwd=tmp_path,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def answering() -> bool:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200

        wait_until(answering, 90, "the installed dashboard to answer")
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(url)
            page.get_by_role("button", name="Start").click(timeout=60_000)
            wait_until(lambda: status_step(page) >= 5, 120, "steps after Start")
            time.sleep(3)  # a few refreshes of the live images
            assert page.evaluate(BROKEN_IMAGES_JS) == 0
            page.get_by_role("button", name="Stop").click()
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
        log.close()
