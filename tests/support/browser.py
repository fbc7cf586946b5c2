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
VIEWPORT = {"width": 1366, "height": 768}  # a laptop's
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def require_chromium() -> None:
    """Skip without Chromium locally; fail in CI, where .ci/run installs it (REQUIRE_BROWSER=1)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER is set")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Every way of starting the dashboard serves the same page (dashboard/app.py, Streamlit's ASGI app with the live
# feed and the Host guard): the launcher (`python -m dashboard`, what `make dashboard` runs) and a plain
# `streamlit run dashboard/app.py` from the repository root (its .streamlit/config.toml binds 127.0.0.1).
STARTS = ("launcher", "streamlit-run")


def server_command(start: str, port: int) -> list[str]:
    """The command line of one way of starting the dashboard on `port`."""
    if start == "launcher":
        return [sys.executable, "-m", "dashboard", "--port", str(port)]
    if start == "streamlit-run":
        return [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port)]
    raise ValueError(f"start={start!r}: one of {', '.join(STARTS)}")


@contextlib.contextmanager
def streamlit_server(runs_root: Path, extra_env: dict[str, str] | None = None, start: str = "launcher"):
    """The dashboard started one way (STARTS) on a free port bound to 127.0.0.1; yields its URL."""
    with streamlit_process(runs_root, extra_env, start) as (url, _):
        yield url


@contextlib.contextmanager
def streamlit_process(runs_root: Path, extra_env: dict[str, str] | None = None, start: str = "launcher"):
    """Like streamlit_server, yielding (url, the server's Popen) for tools that measure its CPU."""
    port = free_port()
    env = {**os.environ, "GAN_WORKBENCH_RUNS": str(runs_root), **(extra_env or {})}
    # The server's output goes to a file: an unread pipe fills up and would block the server.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(server_command(start, port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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
    """The run's state word from the status line: idle, running, paused, stopping, finished or failed."""
    text = page.get_by_text(re.compile(r"· step \d+ ·")).first.inner_text()
    return re.search(r"(idle|running|paused|stopping|finished|failed)", text).group(1)


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll predicate every 0.25 s until it holds; fail naming what after timeout seconds."""
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


def wait_for_script_done(page) -> None:
    """Until Streamlit's running indicator has been gone for half a second."""
    quiet_since = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if page.locator("[data-testid='stStatusWidget']").count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.5:
                return
        else:
            quiet_since = None
        time.sleep(0.05)
    raise AssertionError("the page kept running its script for 60 s")


def choose_view(page, name: str) -> None:
    """Choose a view in the page's view switcher."""
    page.get_by_test_id("stRadioGroup").get_by_text(name, exact=True).click()


def screenshot(page, name: str) -> None:
    """Save the page's visible part as SCREENSHOTS_DIR/name for docs/ when SCREENSHOTS_DIR is set (not in CI)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=False)


NARROW_VIEWPORT = {"width": 1024, "height": 700}  # the narrowest screen the page is laid out for


def open_options(page, label: str) -> None:
    """Open a selectbox's or multiselect's list of options, as a person does: click it, then arrow down."""
    combobox = page.get_by_role("combobox", name=re.compile("^" + re.escape(label)))
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    combobox.click()
    listbox = page.get_by_role("listbox")
    try:  # the list opens a moment after the click; a click that only focused it opens none
        listbox.wait_for(timeout=2_000)
    except PlaywrightTimeoutError:
        combobox.press("ArrowDown")
        listbox.wait_for(timeout=10_000)


def choose_option(page, label: str, option: str) -> None:
    """Pick one option of a selectbox, then wait for the rerun it causes."""
    open_options(page, label)
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_script_done(page)


def fill_field(page, label: str, value: str) -> None:
    """Type a value into a text or number field and press Enter, then wait for the rerun."""
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")
    wait_for_script_done(page)


def feed_statuses(page) -> list[int]:
    """Collect the HTTP status of every live-feed answer the page gets from now on (the list grows)."""
    statuses: list[int] = []
    page.on("response", lambda response: statuses.append(response.status) if "/_gw/live/" in response.url else None)
    return statuses
