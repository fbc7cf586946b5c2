"""The live feed: every live part of the page fetches what is new from the server, with no Streamlit rerun.

Why: every Streamlit rerun, even of a small fragment, makes the browser re-render the whole page (React,
styles, layout): on the Training view that cost Chromium 13-19% of a core and training 10-30% of its speed
(docs/benchmarks.md). So the page reruns only when the user acts or a run changes phase, and at the page's
live pace (every 2 s unless the user picks another) the live components ask together, in one
GET /_gw/live/all?parts=status,charts,images&charts=STATE&images=STATE, for what is new since the state each
holds (the `sent` record of its message builder, echoed back), so the browser draws one frame per refresh.
The parts: the session's status line, charts, images and 2D playground; the A/B experiment's status, overlaid
charts and two sides; the Runs view's live status; the latent explorer's pictures of the live generator.
app.py mounts these routes on Streamlit's ASGI app, whichever way the page is started.

Every request is untrusted: the Host header must name a loopback address or a name the user opted into
(serving.host_allowed: no DNS rebinding), each state is small, shallow JSON whose fields are type-checked,
responses are read-only JSON about the one session and A/B runner this server runs, never a file named by
the request (the Runs view's folder is the page's, registered under a random token), and carry no CORS
header, so other sites cannot read them. This module imports no view, no Streamlit and nothing of the
engine's internals: message builders (live/*messages.py, frames.py, samples.py) and control's public API.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from dashboard.live import ab_messages, frames, messages, runs_messages, samples
from dashboard.serving import ALLOW_REMOTE_ENV, host_allowed
from gan_core.control.ab import ABRunner
from gan_core.control.session import TrainingSession
from gan_core.files import json_nesting
from gan_core.runs.admin import read_meta
from gan_core.runs.listing import list_runs
from gan_core.runs.paths import RunPaths, sample_grids
from gan_core.runtime.serial_torch import serial_torch_in_this_thread

PREFIX = "/_gw/live"
MAX_STATE_CHARS = 4096
MAX_STATE_DEPTH = 4  # a state is an object holding objects that hold at most a two-number list
PARTS = ("status", "charts", "images", "playground", "ab_status", "ab_charts", "ab_a", "ab_b", "runs", "runs_grids",
         "explorer_grid", "explorer_strip", "explorer_classes")
ALL = "all"  # several parts in one request (see answer)
MAX_WATCHES = 64  # Runs views registered (one per tab); the oldest is forgotten first
_log = logging.getLogger(__name__)

# The fields a component may echo back, and their types: anything else in its state is dropped.
_CHART_FIELDS = {"run": str, "gen": int, "cursor": list, "events": int, "quality": int, "seq": int}
_IMAGE_FIELDS = {"run": str, "seq": int, "grid_step": int, "real": str, "steps": int, "timeline_step": int}
_FRAME_FIELDS = {"run": str, "seq": int, "step": int, "gen": int, "cfg": str}
_SIDE_FIELDS = {**_IMAGE_FIELDS, **_FRAME_FIELDS}
_RUNS_FIELDS = {"watch": str, "sig": str, "seq": int}
# The Runs view's saved grids: the tab's token, the opened run it shows ("open", a folder name the tab
# registered), and what it holds (as _IMAGE_FIELDS).
_RUNS_GRID_FIELDS = {"watch": str, "open": str, "run": str, "seq": int, "steps": int, "timeline_step": int}
_SAMPLE_FIELDS = {**samples.REQUEST_FIELDS, "run": str, "gen": int, "step": int, "key": str, "seq": int}


@dataclass(frozen=True)
class Sources:
    """What the feed reports on: the server's one session and A/B runner, and how to load what they show."""

    session: TrainingSession | None = None
    real_png: Callable[[Any], str] | None = None
    """A data config's real-image grid as base64 PNG (cached by the page)."""
    ab_runner: ABRunner | None = None
    dataset: Callable[[Any], Any] | None = None
    """A data config's data set (cached by the page): the 2D frames draw its points."""


_lock = threading.Lock()
_sources = Sources()
_watches: OrderedDict[str, tuple[Path, tuple[str, ...]]] = OrderedDict()
_address: list[Callable[[], str | None]] = [lambda: None]


class FeedError(ValueError):
    """A request the feed refuses: (HTTP status, message naming the field and what is allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def register(session: TrainingSession | None, real_png: Callable[[Any], str] | None,
             ab_runner: ABRunner | None = None, dataset: Callable[[Any], Any] | None = None) -> None:
    """The session and A/B runner the page shows (one each per server process) and their loaders."""
    global _sources
    with _lock:
        _sources = Sources(session, real_png, ab_runner, dataset)


def watch(token: str, folder: Path, opened: tuple[str, ...]) -> None:
    """The Runs view of one tab: the folder it lists and the runs it opened, under the tab's random token
    (the request names only the token, never a folder)."""
    with _lock:
        _watches[token] = (Path(folder), tuple(opened))
        _watches.move_to_end(token)
        while len(_watches) > MAX_WATCHES:
            _watches.popitem(last=False)


def url(part: str = ALL) -> str:
    """The path a component fetches, relative to the page's own address."""
    return f"{PREFIX.lstrip('/')}/{part}"


def _vetted(raw: str | None, fields: Mapping[str, type], parameter: str = "state") -> dict[str, Any]:
    """The component's echoed state (in the query parameter named): JSON object, small, shallow, known fields
    of the right type only."""
    return _vet_object(_parsed(raw, parameter), fields)


def _parsed(raw: str | None, parameter: str) -> dict[str, Any]:
    """The JSON object in a query parameter (small and shallow), or {} when there is none."""
    if not raw:
        return {}
    if len(raw) > MAX_STATE_CHARS:
        raise FeedError(400, f"{parameter}: at most {MAX_STATE_CHARS} characters")
    # json.loads recurses once per level: 2,000 nested brackets fit in 4 KB and end in a RecursionError.
    if json_nesting(raw) > MAX_STATE_DEPTH:
        raise FeedError(400, f"{parameter}: a JSON object nested at most {MAX_STATE_DEPTH} levels deep")
    try:
        value = json.loads(raw)
    except ValueError:
        raise FeedError(400, f"{parameter}: must be a JSON object") from None
    if not isinstance(value, dict):
        raise FeedError(400, f"{parameter}: must be a JSON object")
    return value


def _vet_object(value: Any, fields: Mapping[str, type]) -> dict[str, Any]:
    """The known fields of the right type from a parsed object (anything else is dropped)."""
    if not isinstance(value, dict):
        return {}
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
        if kind is str and len(item) > 1024:
            continue
        vetted[name] = tuple(item) if kind is list else item
    return vetted


def _pin(query: Mapping[str, str], parameter: str = "pin") -> dict[str, Any] | None:
    """The saved-grid step the user pinned (?pin=STEP; the Runs view's ?runs_pin=STEP), as the image message
    builders take it."""
    raw = query.get(parameter)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:  # "²".isdigit() is True, and int() refuses it
        raise FeedError(400, f"{parameter}: a saved grid's step, a whole number of at most 12 digits (0-9)")
    return {"pinned": True, "step": int(raw)}


def answer(part: str, query: Mapping[str, str], host: str | None,
           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The reply to GET PREFIX/<part>?state=...: {"message": ..., "state": what to echo next time}.

    The part "all" answers several parts at once (?parts=status,charts,images, each part's state in the
    parameter of its name): the page's live parts fetch together so their updates land in one browser frame.
    """
    if part not in PARTS and part != ALL:
        raise FeedError(404, f"part: one of {', '.join(PARTS + (ALL,))}")
    serial_torch_in_this_thread()  # a worker thread lives on: it must not keep an OpenMP pool (frames use torch)
    # HostGuard (app.py's middleware) refuses these first; checked here too, so the feed never depends on it.
    if not host_allowed(host, environ if environ is not None else os.environ, _address[0]()):
        raise FeedError(403, "host: the live feed answers only requests addressed to a loopback name, or to a "
                             f"name given with {ALLOW_REMOTE_ENV}=1 (docs/threat_model.md)")
    with _lock:
        sources = _sources
    if sources.session is None:
        raise FeedError(503, "session: no page has been served yet; reload the page")
    if part != ALL:
        return _answer_part(part, sources, query.get("state"), query, "state")
    wanted = _wanted_parts(query.get("parts"))
    return {"parts": {name: _answer_alone(name, sources, query.get(name), query) for name in wanted}}


def _answer_alone(part: str, sources: Sources, state: str | None, query: Mapping[str, str]) -> dict[str, Any]:
    """One part of an "all" answer; a part that fails on the server's side answers {"error": why} for its
    component to show, and the other parts are answered as usual (a refused request still refuses the whole)."""
    try:
        return _answer_part(part, sources, state, query, part)
    except FeedError:
        raise
    except Exception as error:  # noqa: BLE001 - one part's failure must not blank every live view
        _log.exception("live feed: the part %s failed", part)
        return {"error": f"{part}: not available now ({type(error).__name__}: {str(error)[:300]})"}


def _wanted_parts(raw: str | None) -> list[str]:
    """The parts named by ?parts=a,b (each at most once, in the feed's order)."""
    names = (raw or "").split(",") if raw else []
    if not names or len(raw) > 160 or any(name not in PARTS for name in names):
        raise FeedError(400, f"parts: a comma-separated list of {', '.join(PARTS)}")
    return [name for name in PARTS if name in names]


def _answer_part(part: str, sources: Sources, state: str | None, query: Mapping[str, str],
                 parameter: str) -> dict[str, Any]:
    """One part's {"message", "state"}, given the state its component echoed back in the query's `parameter`."""
    session = sources.session
    if part == "status":
        return {"message": messages.status_message(session.snapshot(since=None), session.speed_limit), "state": {}}
    if part == "charts":
        sent = _vetted(state, _CHART_FIELDS, parameter)
        message, record = messages.chart_message(session.snapshot(since=sent.get("cursor", 0)), sent)
    elif part == "images":
        sent = _vetted(state, _IMAGE_FIELDS, parameter)
        message, record = messages.image_message(session.snapshot(since=None), sent, sources.real_png, _pin(query))
    elif part == "playground":
        message, record = _session_frame(sources, _vetted(state, _FRAME_FIELDS, parameter))
    elif part.startswith("ab_"):
        message, record = _ab_part(part, sources, state, parameter)
    elif part == "runs":
        message, record = _runs_part(session, _vetted(state, _RUNS_FIELDS, parameter))
    elif part == "runs_grids":
        message, record = _runs_grids_part(_vetted(state, _RUNS_GRID_FIELDS, parameter), _pin(query, "runs_pin"))
    else:
        message, record = _samples_part(part.removeprefix("explorer_"), session,
                                        _vetted(state, _SAMPLE_FIELDS, parameter), parameter)
    return {"message": message, "state": record}


def _unchanged(sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Nothing new for a part: its last seq again, so the browser has nothing to redo."""
    return {"seq": sent.get("seq", 0), "unchanged": True}, sent


def _frame(sent: dict[str, Any], identity: tuple[str, int, int, str],
           views_for: Callable[[], frames.PlaygroundViews]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A playground frame for identity (run, generation, step, live settings' key), computed only when the
    browser lacks it: a live change while paused (the loss sets the arrows) is a new frame at the same step."""
    run, generation, step, settings = identity
    if (sent.get("run"), sent.get("gen"), sent.get("step"), sent.get("cfg", "")) == identity:
        return _unchanged(sent)
    message, record = frames.playground_message(views_for(), sent)
    return message, {**record, "gen": generation, "step": step, "run": run, "cfg": settings}


def _session_frame(sources: Sources, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session's 2D run as the playground draws it (copies of its G and D)."""
    snapshot = sources.session.snapshot(since=None)
    config = snapshot.config
    if config is None or not config.data.is_points or sources.dataset is None:
        return _unchanged(sent)
    real = sources.dataset(config.data).images
    session = sources.session
    return _frame(sent, (snapshot.run_dir or "", snapshot.cursor[0], snapshot.step, frames.config_key(config)),
                  lambda: frames.run_views(session, snapshot, real))


def _ab_part(part: str, sources: Sources, state: str | None, parameter: str) -> tuple[dict[str, Any], dict]:
    """The A/B experiment's status, overlaid charts, or one side (a playground frame or its live grid)."""
    runner = sources.ab_runner
    if runner is None or runner.progress().status == "idle":
        return _unchanged(_vetted(state, {"seq": int}, parameter))
    if part == "ab_status":
        progress = runner.progress()
        return ab_messages.ab_status_message(progress, (runner.snapshot(0), runner.snapshot(1))), {}
    if part == "ab_charts":
        parsed = _parsed(state, parameter)
        sent = {source: _vet_object(parsed.get(source), _CHART_FIELDS) for source in ab_messages.SOURCES}
        snapshots = tuple(runner.snapshot(side, since=sent[source].get("cursor", 0))
                          for side, source in enumerate(ab_messages.SOURCES))
        return ab_messages.ab_charts_message(snapshots, sent)
    side = 0 if part == "ab_a" else 1
    sent = _vetted(state, _SIDE_FIELDS, parameter)
    progress = runner.progress()
    config, run_dir = progress.configs[side], progress.run_dirs[side] or ""
    snapshot = runner.snapshot(side)
    if config is None or snapshot is None:
        return _unchanged(sent)
    if not config.data.is_points:
        return messages.image_message(snapshot, sent, None, None, saved_grids=False)
    if sources.dataset is None:
        return _unchanged(sent)
    real = sources.dataset(config.data).images
    return _frame(sent, (run_dir, 0, progress.step[side], frames.config_key(config)),
                  lambda: frames.ab_views(runner.models(side), config, run_dir, real))


def _runs_part(session: TrainingSession, sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Runs view's live status for the tab whose token the state carries (sent again only when changed)."""
    token = sent.get("watch", "")
    with _lock:
        watched = _watches.get(token)
    if watched is None:
        return _unchanged(sent)
    folder, opened = watched
    runs = list_runs(folder)
    labels = runs_messages.run_labels(runs, {run.path.name: read_meta(run.path) for run in runs})
    message = runs_messages.runs_message(runs, labels, opened, session.snapshot(since=None))
    signature = samples.request_key(message)
    if signature == sent.get("sig"):
        return _unchanged(sent)
    seq = sent.get("seq", 0) + 1
    return {**message, "seq": seq}, {"watch": token, "sig": signature, "seq": seq}


def _runs_grids_part(sent: dict[str, Any], pin: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The saved grids of a run the tab opened in its Runs view (new steps, and the newest grid unless pinned):
    the folder is the one the tab registered under its token, the run one of the names it opened there."""
    token, name = sent.get("watch", ""), sent.get("open", "")
    with _lock:
        watched = _watches.get(token)
    if watched is None or name not in watched[1] or Path(name).name != name or name in ("", ".", ".."):
        return _unchanged(sent)
    folder = watched[0]
    message, record = messages.timeline_message(name, sample_grids(RunPaths(folder / name)), sent, pin)
    return message, {**record, "watch": token, "open": name}


def _samples_part(kind: str, session: TrainingSession, sent: dict[str, Any], parameter: str
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """One of the latent explorer's pictures of the live generator, made when the step or the request changed."""
    try:
        wanted = samples.request({**sent, "kind": kind})
    except ValueError as error:
        raise FeedError(400, f"{parameter}: {error}") from None
    snapshot = session.snapshot(since=None)
    if snapshot.config is None:
        return samples.sample_message(("", 0, 0), None, 0, wanted, sent)
    identity = (snapshot.run_dir or "", snapshot.cursor[0], snapshot.step)
    return samples.sample_message(identity, session.generator(), snapshot.config.model.latent_dim, wanted, sent)


def routes(address: Callable[[], str | None] = lambda: None) -> list:
    """The Starlette route app.py mounts: GET PREFIX/<part>. address() is the listen address Streamlit serves
    on (read per request), for the opt-in's named host."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    _address[0] = address

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
