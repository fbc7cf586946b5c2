"""Helpers for browser tests: start `streamlit run` on a free 127.0.0.1 port and drive Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def require_chromium() -> None:
    """Skip without Chromium locally; fail in CI, where .ci/run installs it (REQUIRE_BROWSER=1)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER is set")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(runs_root: Path, extra_env: dict[str, str] | None = None):
    """`streamlit run dashboard/server.py` (as `python -m dashboard` runs it) on a free port bound to
    127.0.0.1; yields its URL."""
    with streamlit_process(runs_root, extra_env) as (url, _):
        yield url


@contextlib.contextmanager
def streamlit_process(runs_root: Path, extra_env: dict[str, str] | None = None, script: str = "server.py"):
    """Like streamlit_server, yielding (url, the server's Popen) for tools that measure its CPU. script
    "app.py" serves the page without the live feed (it then refreshes by reruns): a benchmark's baseline."""
    port = free_port()
    env = {**os.environ, "GAN_WORKBENCH_RUNS": str(runs_root), **(extra_env or {})}
    # The server's output goes to a file: an unread pipe fills up and would block the server.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / script),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("streamlit did not start: " + log.read().decode(errors="replace")[-2000:])
            time.sleep(0.3)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def launch_browser(playwright, extra_args: tuple[str, ...] = ()):
    """Debian's Chromium, headless; extra_args e.g. ("--host-resolver-rules=MAP evil.example 127.0.0.1",)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args), headless=True)


def status_step(page) -> int:
    """The step number from the status line ("... · step **N** · ...")."""
    text = page.get_by_text(re.compile(r"· step \d+ ·")).first.inner_text()
    return int(re.search(r"step (\d+)", text).group(1))


def status_word(page) -> str:
    text = page.get_by_text(re.compile(r"· step \d+ ·")).first.inner_text()
    return re.search(r"(idle|running|paused|stopping|finished|failed)", text).group(1)


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as error:  # noqa: BLE001 - the page may be mid-rerender
            last_error = error
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} ({last_error})")
