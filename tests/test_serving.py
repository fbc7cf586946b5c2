"""The dashboard serves only on loopback unless the user opts in, whatever folder it is started from."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.serving import ALLOW_REMOTE_ENV, is_loopback, refusal
from tests.browser_support import ROOT, free_port, launch_browser, require_chromium

APP = str(ROOT / "dashboard" / "app.py")
SERVER = str(ROOT / "dashboard" / "server.py")


@pytest.mark.parametrize("address, expected", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.5", False), ("::", False), ("example.com", False)])
def test_only_loopback_addresses_count_as_local(address, expected):
    assert is_loopback(address) is expected


def test_a_non_loopback_address_is_refused_unless_the_user_opts_in():
    message = refusal("0.0.0.0", {})
    assert message.startswith("server.address=0.0.0.0 is refused") and ALLOW_REMOTE_ENV in message
    assert "every interface" in refusal(None, {})
    assert refusal("0.0.0.0", {ALLOW_REMOTE_ENV: "1"}) is None and refusal("127.0.0.1", {}) is None


def test_the_launcher_refuses_a_public_address_with_exit_2():
    result = subprocess.run([sys.executable, "-m", "dashboard", "--address", "0.0.0.0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in __import__("os").environ.items() if k != ALLOW_REMOTE_ENV})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: server.address=0.0.0.0 is refused")


@pytest.fixture
def address_option():
    saved = st.get_option("server.address")
    yield
    st.config.set_option("server.address", saved)


def test_the_page_serves_nothing_on_every_interface(address_option, monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv(ALLOW_REMOTE_ENV, raising=False)
    st.config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert any("is refused" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "btn.start"]
    monkeypatch.setenv(ALLOW_REMOTE_ENV, "1")  # an explicit, documented choice
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.error and [b for b in at.button if b.key == "btn.start"]


def _feed_status(port: int, host: str) -> tuple[int, str]:
    """GET the live feed's status part with a chosen Host header: (HTTP status, error text)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_gw/live/status", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["error"]


@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.parametrize("script", [APP, SERVER])
def test_started_from_another_folder_without_the_config_the_page_refuses(tmp_path, script):
    """`streamlit run /path/to/dashboard/app.py` (or server.py, with the live feed) from elsewhere: Streamlit
    reads no config and listens everywhere; the page itself then refuses to serve (checked from 127.0.0.1
    only), and the feed has no session to show and answers no other host."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {k: v for k, v in __import__("os").environ.items() if k != ALLOW_REMOTE_ENV}
    env["GAN_WORKBENCH_RUNS"] = str(tmp_path / "runs")
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
                               "--server.headless", "true"], cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "streamlit did not start"
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_text("is refused").first.wait_for(timeout=60_000)
            assert page.get_by_role("button", name="Start", exact=True).count() == 0
            browser.close()
        if script == SERVER:
            assert _feed_status(port, f"127.0.0.1:{port}") == (503, "session: no page has been served yet; "
                                                                     "reload the page")
            status, error = _feed_status(port, "attacker.example")
            assert status == 403 and error.startswith("host:")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
