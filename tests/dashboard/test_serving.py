"""The dashboard serves only on loopback unless the user opts in, whatever folder it is started from."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.serving import (ALLOW_REMOTE_ENV, ALLOWED_HOSTS_ENV, HostGuard, host_allowed, host_refusal,
                               is_loopback, refusal)
from tests.support.browser import ROOT, STARTS, free_port, launch_browser, require_chromium, streamlit_process
from tests.support.pages import APP


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


@pytest.mark.apptest
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
        body = error.read().decode()
        # The feed answers JSON; app.py's HostGuard answers a wrong Host with plain text before it.
        return error.code, json.loads(body)["error"] if error.headers.get_content_type() == "application/json" else body


@pytest.mark.apptest
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_started_from_another_folder_without_the_config_the_page_refuses(tmp_path):
    """`streamlit run /path/to/dashboard/app.py` from elsewhere: Streamlit reads no config and listens
    everywhere; the page itself then refuses to serve (checked from 127.0.0.1 only), and the feed has no
    session to show and answers no other host."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {k: v for k, v in __import__("os").environ.items() if k != ALLOW_REMOTE_ENV}
    env["GAN_WORKBENCH_RUNS"] = str(tmp_path / "runs")
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
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
        assert _feed_status(port, f"127.0.0.1:{port}") == (503, "session: no page has been served yet; "
                                                                 "reload the page")
        status, error = _feed_status(port, "attacker.example")
        assert status == 403 and error.startswith("host attacker.example is not allowed")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


# --- DNS rebinding: the Host a request names (issue 24) -------------------------------------------------

REMOTE = {ALLOW_REMOTE_ENV: "1"}


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1:8501", True), ("127.0.0.1", True), ("127.9.8.7:1", True), ("localhost:8599", True),
    ("LOCALHOST.", True), ("[::1]:8501", True), ("[::1]", True),
    ("evil.example:8599", False), ("evil.example", False), ("localhost.evil.example", False),
    ("127.0.0.1.nip.io:8501", False), ("evil.localhost", False), ("0.0.0.0:8501", False),
    ("192.168.1.5:8501", False), ("127.0.0.1@evil.example", False), ("evil.example/127.0.0.1", False),
    ("127.0.0.1 evil", False), ("localhost:99999", False), ("localhost:x", False), ("[::1", False),
    ("[::ffff:7f00:1]:8501", False), ("", False), (None, False)])
def test_only_loopback_host_names_are_answered_by_default(host, expected):
    assert host_allowed(host, {}) is expected
    assert (host_refusal(host, {}) is None) is expected


def test_remote_names_count_only_when_the_user_opts_in_and_names_them():
    names = {ALLOWED_HOSTS_ENV: "gpu-box, GPU-Box.lan.,[fd00::5]"}
    assert not host_allowed("gpu-box:8501", names)  # a name without the opt-in: still refused
    remote = REMOTE | names
    for host in ("gpu-box:8501", "gpu-box.lan", "[fd00::5]:8501", "127.0.0.1:8501"):
        assert host_allowed(host, remote), host
    for host in ("evil.example:8501", "box:8501", "lan:8501", "gpu-box.lan.evil.example"):
        assert not host_allowed(host, remote), host
    assert not host_allowed("evil.example", REMOTE)  # the opt-in alone names nothing
    # The address the server was told to listen on counts as named; a wildcard address names nothing.
    assert host_allowed("192.168.1.5:8501", REMOTE, address="192.168.1.5")
    assert not host_allowed("192.168.1.5:8501", {}, address="192.168.1.5")
    assert not host_allowed("0.0.0.0:8501", REMOTE, address="0.0.0.0")


def test_a_refused_host_is_told_how_to_opt_in_without_echoing_odd_text():
    message = host_refusal("evil.example:8599", {})
    assert message.startswith("host evil.example is not allowed")
    assert ALLOW_REMOTE_ENV in message and "--allowed-host" in message and ALLOWED_HOSTS_ENV in message
    assert "<" not in host_refusal("<b>x</b>", {}) and "![" not in host_refusal("![x](http://a/b.png)", {})


def _asgi(app, scope_type: str, host: str | None) -> list[dict]:
    """One HTTP request or WebSocket handshake through an ASGI app: the messages it sends back."""
    headers = [] if host is None else [(b"host", host.encode())]
    scope = {"type": scope_type, "path": "/_stcore/stream", "raw_path": b"/_stcore/stream", "query_string": b"",
             "headers": headers, "method": "GET", "scheme": "http" if scope_type == "http" else "ws"}
    incoming = [{"type": "http.request", "body": b"", "more_body": False} if scope_type == "http"
                else {"type": "websocket.connect"}]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_host_guard_answers_403_to_pages_and_websockets_under_other_names():
    reached: list[str] = []

    async def inner(scope, receive, send):
        reached.append(scope["type"])
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"page"})

    guard = HostGuard(inner, environ={}, address=lambda: "127.0.0.1")
    refused = _asgi(guard, "http", "evil.example:8599")
    assert refused[0]["status"] == 403 and b"evil.example is not allowed" in refused[1]["body"]
    assert _asgi(guard, "websocket", "evil.example:8599") == [{"type": "websocket.close", "code": 1008}]
    assert _asgi(guard, "http", None)[0]["status"] == 403
    assert reached == []
    assert _asgi(guard, "http", "127.0.0.1:8599")[1]["body"] == b"page"
    assert _asgi(guard, "websocket", "localhost:8599") == [{"type": "websocket.accept"}]
    assert reached == ["http", "websocket"]
    named = HostGuard(inner, environ=REMOTE | {ALLOWED_HOSTS_ENV: "gpu-box"}, address=lambda: "0.0.0.0")
    assert _asgi(named, "http", "gpu-box:8501")[1]["body"] == b"page"


@pytest.mark.apptest
@pytest.mark.timeout(240)
@pytest.mark.parametrize("start", STARTS)
def test_the_server_answers_403_to_every_route_under_another_name(tmp_path, start):
    """dashboard/app.py's App, started either way, over real HTTP: the guard is outside Streamlit's routes (page,
    static files, /_stcore/*), the feed's and the components' module. test_browser_hosts.py drives a browser."""
    with streamlit_process(tmp_path / "runs", start=start) as (url, _):
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/_gw/live/status", "/_gw/static/shared.js",
                     "/favicon.png"):
            status, text = _get(url + path, "evil.example:8501")
            assert status == 403 and text.startswith("host evil.example is not allowed"), (path, status, text)
        assert _get(url + "/", url.split("//")[1])[0] == 200
        assert _get(url + "/_stcore/health", "localhost:1")[0] == 200


def _get(url: str, host: str) -> tuple[int, str]:
    """GET with a chosen Host header: (HTTP status, body text)."""
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


@pytest.mark.apptest
def test_the_page_serves_nothing_to_a_request_under_another_name(monkeypatch, tmp_path):
    """Whatever serves it, the page itself refuses a request under another name too (st.context.headers)."""
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv(ALLOW_REMOTE_ENV, raising=False)
    headers = {"host": "evil.example:8599"}
    monkeypatch.setattr(type(st.context), "headers", property(lambda self: headers))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert [e.value for e in at.error] == [host_refusal("evil.example:8599", {})]
    assert not at.button and not at.radio
    headers["host"] = "127.0.0.1:8599"
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.error and [b for b in at.button if b.key == "btn.start"]


@pytest.mark.parametrize("argv, error", [
    (["--address", "127.0.0.1 "], "error: --address='127.0.0.1 ' is invalid"),
    (["--address", ""], "error: --address='' is invalid"),
    (["--allowed-host", "gpu-box"], f"error: --allowed-host needs {ALLOW_REMOTE_ENV}=1"),
])
def test_the_launcher_refuses_a_bad_address_or_name_in_one_line(argv, error):
    env = {k: v for k, v in os.environ.items() if k not in (ALLOW_REMOTE_ENV, ALLOWED_HOSTS_ENV)}
    result = subprocess.run([sys.executable, "-m", "dashboard", *argv], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and result.stderr.startswith(error), \
        result.stderr


def test_the_launcher_checks_names_and_hands_them_to_the_server(monkeypatch, capsys):
    from dashboard import __main__ as launcher

    started: list = []
    monkeypatch.setattr(launcher.os, "execve", lambda path, command, env: started.append((command, env)))
    monkeypatch.setenv(ALLOW_REMOTE_ENV, "1")
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "old-name")
    for bad in (["--allowed-host", "bad name"], ["--allowed-host", "*.example.com"],
                ["--allowed-host", "gpu-box:8501"]):
        assert launcher.main(bad) == 2
        assert capsys.readouterr().err.startswith(f"error: --allowed-host={bad[1]!r} is invalid")
    assert launcher.main(["--address", "[::1]", "--allowed-host", "gpu-box", "--allowed-host", "gpu-box.lan"]) == 0
    (command, env), = started
    assert command[command.index("--server.address") + 1] == "::1"  # what Streamlit can bind
    assert env[ALLOWED_HOSTS_ENV] == "old-name,gpu-box,gpu-box.lan" and env[ALLOW_REMOTE_ENV] == "1"
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "ok,not ok")
    assert launcher.main([]) == 2
    assert capsys.readouterr().err.startswith(f"error: {ALLOWED_HOSTS_ENV}='not ok' is invalid")
