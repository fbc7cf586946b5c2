"""The live feed (dashboard/feed.py): what a component's fetch returns, and what the feed refuses."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
import pytest

from dashboard.live import feed
from gan_core.control.session import TrainingSession
from gan_core.files import json_nesting

WAIT = 60.0
HOST = "127.0.0.1:8501"


@pytest.fixture
def session(tmp_path):
    session = TrainingSession(runs_root=tmp_path / "runs")
    real_calls: list = []
    feed.register(session, lambda data: real_calls.append(data) or "REAL")
    session.real_calls = real_calls
    yield session
    session.shutdown()
    feed.register(None, None)


def _steps(message) -> list[int]:
    if not message["n"]:
        return []
    return np.frombuffer(base64.b64decode(message["cols"]["step"]), dtype=np.float32).astype(int).tolist()


def _step_and_wait(session, n: int) -> None:
    target = session.snapshot().step + n
    session.step(n)
    assert session.wait_for(lambda s: s.snapshot(since=None).step >= target and
                            s.snapshot(since=None).steps_pending == 0, WAIT)


def _fetch(part: str, state: dict | None = None, **query) -> dict:
    """One fetch as the browser makes it: the state it holds, echoed back as JSON."""
    if state is not None:
        query["state"] = json.dumps(state)
    return feed.answer(part, {name: str(value) for name, value in query.items()}, HOST)


def test_charts_feed_returns_only_the_rows_the_page_does_not_hold(session, tiny):
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 3)
    first = _fetch("charts", {})
    assert (first["message"]["start"], _steps(first["message"])) == (0, [1, 2, 3])
    again = _fetch("charts", first["state"])
    assert (again["message"]["start"], again["message"]["n"], again["message"]["cols"]) == (3, 0, {})
    _step_and_wait(session, 2)
    session.update({"optimizer.lr_g": 1e-3})
    _step_and_wait(session, 1)
    third = _fetch("charts", again["state"])
    assert (third["message"]["start"], _steps(third["message"])) == (3, [4, 5, 6])
    assert [event["kind"] for event in third["message"]["events"]] == ["update"]
    # A page that lost its state (or echoes garbage fields) gets everything once, not an error.
    fresh = _fetch("charts", {"cursor": "x", "gen": True, "events": -4})
    assert (fresh["message"]["start"], fresh["message"]["n"]) == (0, 6)


def test_images_feed_sends_a_grid_once_and_the_pinned_saved_grid(session, tiny):
    session.start(tiny, paused=True)  # sample_every=10
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 20)
    first = _fetch("images", {})
    message = first["message"]
    assert message["grid"]["step"] == 20 and message["real"] == {"png": "REAL"} and message["steps"] == [10, 20]
    assert message["timeline"]["step"] == 20 and base64.b64decode(message["grid"]["png"]).startswith(b"\x89PNG")
    second = _fetch("images", first["state"])
    assert (second["message"]["grid"], second["message"]["real"], second["message"]["timeline"]) == (None, None, None)
    assert len(session.real_calls) == 1
    pinned = _fetch("images", second["state"], pin=10)
    assert pinned["message"]["timeline"]["step"] == 10 and pinned["message"]["grid"] is None


def test_status_feed_carries_the_line_the_run_directory_and_the_phase(session, tiny):
    idle = _fetch("status")["message"]
    assert (idle["status"], idle["step"], idle["phase"], idle["run_dir"]) == ("idle", 0, ["idle", False], "")
    session.start(tiny, paused=True)
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 2)
    paused = _fetch("status")["message"]
    assert (paused["status"], paused["step"], paused["phase"]) == ("paused", 2, ["paused", False])
    assert paused["run_dir"] == session.snapshot(since=None).run_dir and paused["parts"][0] == "epoch 0"
    assert not any("steps/s" in part for part in paused["parts"])  # no rate while paused


def test_all_answers_the_named_parts_in_one_reply_each_with_its_own_state(session, tiny):
    """The page's hub fetches the due parts together: each part's answer is the one its own fetch gives."""
    session.start(tiny, paused=True)  # sample_every=10
    assert session.wait_for(lambda s: s.status == "paused", WAIT)
    _step_and_wait(session, 10)
    both = feed.answer("all", {"parts": "images,charts", "charts": "{}", "images": "{}"}, HOST)["parts"]
    assert list(both) == ["charts", "images"]  # in the feed's order; status was not asked for
    assert _steps(both["charts"]["message"]) == list(range(1, 11)) and both["images"]["message"]["grid"]["step"] == 10
    _step_and_wait(session, 2)
    query = {"parts": "status,charts,images", "charts": json.dumps(both["charts"]["state"]),
             "images": json.dumps(both["images"]["state"]), "pin": "10"}
    three = feed.answer("all", query, HOST)["parts"]
    assert three["status"]["message"]["step"] == 12
    assert (three["charts"]["message"]["start"], _steps(three["charts"]["message"])) == (10, [11, 12])
    assert three["images"]["message"]["timeline"] is None  # the pinned grid (step 10) is the one it holds
    for parts in (None, "", "status,nope", "status," * 20):
        with pytest.raises(feed.FeedError, match="^parts:") as bad:
            feed.answer("all", {} if parts is None else {"parts": parts}, HOST)
        assert bad.value.status == 400
    with pytest.raises(feed.FeedError, match="^charts:"):  # each part's state travels under its own name
        feed.answer("all", {"parts": "charts", "charts": "[1]"}, HOST)


def test_feed_refuses_other_hosts_bad_state_and_unknown_parts(session):
    with pytest.raises(feed.FeedError, match="host") as refused:
        feed.answer("status", {}, "evil.example:8501")
    assert refused.value.status == 403
    assert feed.answer("status", {}, "localhost:8501")["message"]["status"] == "idle"
    assert feed.answer("status", {}, "[::1]:8501")["message"]["status"] == "idle"
    # The remote opt-in alone names no host (DNS rebinding still works on an exposed server); a named one is answered.
    with pytest.raises(feed.FeedError, match="host"):
        feed.answer("status", {}, "evil.example", environ={"GAN_WORKBENCH_ALLOW_REMOTE": "1"})
    assert feed.answer("status", {}, "gpu-box:8501", environ={"GAN_WORKBENCH_ALLOW_REMOTE": "1",
                                                              "GAN_WORKBENCH_ALLOWED_HOSTS": "gpu-box"})
    for query, field in (({"state": "[1, 2]"}, "state"), ({"state": "{"}, "state"),
                         ({"state": "{}" + " " * 5000}, "state"), ({"pin": "../x"}, "pin")):
        with pytest.raises(feed.FeedError, match=f"^{field}:") as bad:
            feed.answer("images", query, HOST)
        assert bad.value.status == 400
    with pytest.raises(feed.FeedError, match="part") as unknown:
        feed.answer("../../etc/passwd", {}, HOST)
    assert unknown.value.status == 404


def test_feed_without_a_page_served_says_so(tmp_path):
    feed.register(None, None)
    with pytest.raises(feed.FeedError, match="session") as missing:
        feed.answer("status", {}, HOST)
    assert missing.value.status == 503


def test_the_route_answers_json_over_http_without_caching_or_cors(session, tiny):
    """One request through the Starlette route dashboard/server.py mounts, as ASGI calls it."""
    (route,) = feed.routes()
    sent: list[dict] = []

    async def call(path: str, host: str) -> tuple[int, dict, dict]:
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "",
                 "query_string": b"state=%7B%7D", "headers": [(b"host", host.encode())], "scheme": "http",
                 "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 5000), "http_version": "1.1"}
        sent.clear()

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await route.handle(scope | {"path_params": route.matches(scope)[1]["path_params"]}, receive, send)
        headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
        return sent[0]["status"], headers, json.loads(sent[1]["body"])

    status, headers, body = asyncio.run(call("/_gw/live/charts", HOST))
    assert status == 200 and headers["cache-control"] == "no-store" and "access-control-allow-origin" not in headers
    assert body["message"]["n"] == 0 and body["state"]["cursor"] == [0, 0]
    status, _, body = asyncio.run(call("/_gw/live/status", "attacker.example"))
    assert status == 403 and body["error"].startswith("host:")


@pytest.mark.parametrize("query, field", [
    ({"pin": "²"}, "pin"), ({"pin": "١٢"}, "pin"), ({"pin": "12 "}, "pin"),
    ({"state": "[" * 2000 + "]" * 2000}, "state"), ({"state": '{"run": ' + "[" * 1500 + "]" * 1500 + "}"}, "state")])
def test_feed_refuses_odd_digits_and_deep_json_with_400_naming_the_parameter(session, query, field):
    """"²".isdigit() is True, and json.loads recurses: both were a 500 with a traceback."""
    with pytest.raises(feed.FeedError, match=f"^{field}:") as bad:
        feed.answer("images", query, HOST)
    assert bad.value.status == 400
    all_field = "images" if field == "state" else field  # in one request for several parts: the part's name
    with pytest.raises(feed.FeedError, match=f"^{all_field}:") as bad_all:
        feed.answer("all", {"parts": "images", "images": query.get("state", "{}"), "pin": query.get("pin", "1")}, HOST)
    assert bad_all.value.status == 400


def test_the_route_answers_400_not_500_to_a_deep_state(session):
    """Through the Starlette route, as ASGI calls it: a JSON error body, no traceback."""
    (route,) = feed.routes()
    path = "/_gw/live/charts"
    query = ("state=" + "%5B" * 2000 + "%5D" * 2000).encode()
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": query, "headers": [(b"host", HOST.encode())], "scheme": "http",
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 5000), "http_version": "1.1"}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(route.handle(scope | {"path_params": route.matches(scope)[1]["path_params"]}, receive, send))
    assert sent[0]["status"] == 400 and json.loads(sent[1]["body"])["error"].startswith("state:")


def test_brackets_inside_a_state_string_are_not_nesting(session):
    """The depth limit counts JSON structure only: a run name full of brackets is still a valid state."""
    state = {"run": "[{" * 40 + "\\\"[", "seq": 3}
    assert json_nesting(json.dumps(state)) == 1
    assert _fetch("charts", state)["message"]["n"] == 0
    assert json_nesting('{"a": [[{"b": "]]]"}]]}') == 4
