"""The live feed: the page's live components fetch what is new from the server, with no Streamlit rerun.

Why: every Streamlit rerun, even of a small fragment, makes the browser re-render the whole page (React,
styles, layout): on the Training view that cost Chromium 13-19% of a core and training 10-30% of its speed
(docs/benchmarks.md). With the feed, the page reruns only when the user acts or the run changes phase; at
the page's live pace (every 2 s unless the user picks another) the live components ask together, in one
GET /_gw/live/all?parts=status,charts,images&charts=STATE&images=STATE, for what is new since the state
each holds (the `sent` record of dashboard/live.py, echoed back), so the browser draws one frame per
refresh; the message builders are the same pure functions the rerun path uses. dashboard/server.py
mounts these routes when it serves the page (`python -m dashboard`); a page served without them
(`streamlit run dashboard/app.py`, AppTest) refreshes by reruns as before.

Every request is untrusted: the Host header must name a loopback address or a name the user opted into
(serving.host_allowed: no DNS rebinding), the state is small, shallow JSON whose fields are type-checked,
responses are read-only JSON about the one session this server runs, never a file named by the request,
and carry no CORS header, so other sites cannot read them.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Mapping

import streamlit as st

from dashboard import live
from dashboard.panels import health_lines, status_fields
from dashboard.serving import ALLOW_REMOTE_ENV, host_allowed
from gan_core.control.session import TrainingSession
from gan_core.runtime.serial_torch import serial_torch_in_this_thread

PREFIX = "/_gw/live"
MAX_STATE_CHARS = 4096
MAX_STATE_DEPTH = 4  # a state is an object holding at most a two-number list
PARTS = ("status", "charts", "images")
ALL = "all"  # several parts in one request (see answer)
_lock = threading.Lock()
_feed: dict[str, Any] = {"enabled": False, "session": None, "real_png": None}

# The fields a component may echo back, and their types: anything else in its state is dropped.
_CHART_FIELDS = {"run": str, "gen": int, "cursor": list, "events": int, "quality": int, "seq": int}
_IMAGE_FIELDS = {"run": str, "seq": int, "grid_step": int, "real": str, "steps": int, "timeline_step": int}


class FeedError(ValueError):
    """A request the feed refuses: (HTTP status, message naming the field and what is allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def enable() -> None:
    """Called by dashboard/server.py, which serves the routes: the page then uses the feed."""
    _feed["enabled"] = True


def enabled() -> bool:
    """Whether this server process serves the feed routes."""
    return bool(_feed["enabled"])


def register(session: TrainingSession, real_png: Callable[[Any], str]) -> None:
    """The session the page shows (one per server process) and how to draw a data set's real images."""
    with _lock:
        _feed["session"], _feed["real_png"] = session, real_png


def url(part: str) -> str:
    """The path a component fetches, relative to the page's own address."""
    return f"{PREFIX.lstrip('/')}/{part}"


def _vetted(raw: str | None, fields: Mapping[str, type], parameter: str = "state") -> dict[str, Any]:
    """The component's echoed state (in the query parameter named): JSON object, small, shallow, known fields
    of the right type only."""
    if not raw:
        return {}
    if len(raw) > MAX_STATE_CHARS:
        raise FeedError(400, f"{parameter}: at most {MAX_STATE_CHARS} characters")
    # json.loads recurses once per level: 2,000 nested brackets fit in 4 KB and end in a RecursionError.
    if _nesting(raw) > MAX_STATE_DEPTH:
        raise FeedError(400, f"{parameter}: a JSON object nested at most {MAX_STATE_DEPTH} levels deep")
    try:
        value = json.loads(raw)
    except ValueError:
        raise FeedError(400, f"{parameter}: must be a JSON object") from None
    if not isinstance(value, dict):
        raise FeedError(400, f"{parameter}: must be a JSON object")
    vetted = {}
    for name, kind in fields.items():
        item = value.get(name)
        if isinstance(item, bool) or not isinstance(item, kind):
            continue
        if kind is list and not (len(item) == 2 and all(isinstance(i, int) and not isinstance(i, bool)
                                                          and 0 <= i < 2**53 for i in item)):
            continue  # a cursor is (generation, rows)
        if kind is int and not 0 <= item < 2**53:
            continue
        vetted[name] = tuple(item) if kind is list else item
    return vetted


def _nesting(text: str) -> int:
    """How deep JSON text nests its arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _pin(query: Mapping[str, str]) -> dict[str, Any] | None:
    """The saved-grid step the user pinned (?pin=STEP), as the image message builder takes it."""
    raw = query.get("pin")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # "²".isdigit() is True, and int() refuses it
        raise FeedError(400, "pin: a saved grid's step, a whole number of at most 12 digits (0-9)")
    return {"pinned": True, "step": int(raw)}


def answer(part: str, query: Mapping[str, str], host: str | None,
           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The reply to GET PREFIX/<part>?state=...: {"message": ..., "state": what to echo next time}.

    The part "all" answers several parts at once (?parts=status,charts,images, each part's state in the
    parameter of its name): the page's live parts fetch together so their updates land in one browser frame.
    """
    if part not in PARTS and part != ALL:
        raise FeedError(404, f"part: one of {', '.join(PARTS + (ALL,))}")
    serial_torch_in_this_thread()  # a worker thread lives on: it must not keep an OpenMP pool (a grid uses torch)
    # dashboard/server.py's HostGuard refuses these first; checked here too, so the feed never depends on it.
    if not host_allowed(host, environ if environ is not None else os.environ, st.get_option("server.address")):
        raise FeedError(403, "host: the live feed answers only requests addressed to a loopback name, or to a "
                             f"name given with {ALLOW_REMOTE_ENV}=1 (docs/threat_model.md)")
    with _lock:
        session, real_png = _feed["session"], _feed["real_png"]
    if session is None:
        raise FeedError(503, "session: no page has been served yet; reload the page")
    if part != ALL:
        return _answer_part(part, session, real_png, query.get("state"), query, "state")
    wanted = _wanted_parts(query.get("parts"))
    return {"parts": {name: _answer_part(name, session, real_png, query.get(name), query, name) for name in wanted}}


def _wanted_parts(raw: str | None) -> list[str]:
    """The parts named by ?parts=a,b (each at most once, in the feed's order)."""
    names = (raw or "").split(",") if raw else []
    if not names or len(raw) > 64 or any(name not in PARTS for name in names):
        raise FeedError(400, f"parts: a comma-separated list of {', '.join(PARTS)}")
    return [name for name in PARTS if name in names]


def _answer_part(part: str, session: TrainingSession, real_png, state: str | None,
                 query: Mapping[str, str], parameter: str) -> dict[str, Any]:
    """One part's {"message", "state"}, given the state its component echoed back in the query's `parameter`."""
    if part == "status":
        return {"message": status_message(session), "state": {}}
    if part == "charts":
        sent = _vetted(state, _CHART_FIELDS, parameter)
        message, record = live.chart_message(session.snapshot(since=sent.get("cursor", 0)), sent)
    else:
        sent = _vetted(state, _IMAGE_FIELDS, parameter)
        message, record = live.image_message(live_snapshot(session), sent, real_png, _pin(query))
    return {"message": message, "state": record}


def live_snapshot(session: TrainingSession):
    """The session's state without metric rows (the image and status parts need none)."""
    return session.snapshot(since=None)


def status_message(session: TrainingSession) -> dict[str, Any]:
    """What the status component shows: the line, the run directory, health lines, and the run's phase."""
    snapshot = live_snapshot(session)
    status, step, parts, busy = status_fields(snapshot)
    return {"status": status, "step": step, "parts": parts + ([f"busy: {busy}"] if busy else []),
            "run_dir": snapshot.run_dir or "", "lines": [[level, text[:1000]] for level, text in health_lines(snapshot)],
            "phase": [status, snapshot.steps_pending > 0]}


IDLE_STATUS_INTERVAL_S = 5.0


def render_status(session: TrainingSession, phase: tuple[str, bool], busy: bool, key: str = "live.status") -> None:
    """The status component: the line as of now, then fetched at the page's live pace while busy (every
    5 s otherwise); a phase change the page has not drawn yet reruns the page (its trigger)."""
    feed = {"url": url(ALL), "part": "status", "live": busy, "interval": None if busy else IDLE_STATUS_INTERVAL_S}
    live.status_component(key=key, data={"key": key, "feed": feed, "phase": list(phase),
                                          "initial": status_message(session)}, on_phase_change=_rerun)


def _rerun() -> None:
    """The run changed phase: this rerun redraws the controls and the feed's intervals."""


def render_live(busy: bool) -> None:
    """Charts on the left, images on the right, each fetching only what is new (while busy, at the live
    pace the user picks in the charts' toolbar: every 2 s unless changed; feed_poll.js)."""
    charts_column, right_column = st.columns([0.85, 1.15], gap="medium")
    with charts_column:
        live.render_charts_from_feed({"url": url(ALL), "part": "charts", "live": busy, "interval": None})
    with right_column:
        live.render_images_from_feed({"url": url(ALL), "part": "images", "live": busy, "interval": None})


def routes() -> list:
    """The Starlette routes dashboard/server.py mounts: one GET endpoint per part."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request) -> JSONResponse:
        part = request.path_params["part"]
        try:
            # A resend of 100,000 rows takes tens of milliseconds: off the event loop that serves the page.
            body = await run_in_threadpool(answer, part, dict(request.query_params), request.headers.get("host"))
            status = 200
        except FeedError as error:
            body, status = {"error": str(error)}, error.status
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    return [Route(PREFIX + "/{part}", endpoint, methods=["GET"])]
