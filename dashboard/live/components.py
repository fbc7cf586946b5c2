"""The live components (Streamlit components v2) and the one route that serves their shared JavaScript module.

Each component is registered once with its own module (dashboard/static/*.js, passed inline: nothing is fetched
from the network). Their common code (the feed hub, decoding, image scaling) is one ES module,
static/shared.js, served by this server at /_gw/static/shared.js and imported by each component, so the
browser holds one copy and one hub for all of them. A component is mounted with what it needs to fetch its
part of the live feed (live/feed.py): it then updates itself, and the page does not rerun to carry data.
Under AppTest no browser runs the modules: the components mount and simply get no updates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import streamlit as st

from dashboard.live import feed
from dashboard.live.spec import client_spec
from gan_core.config.schema import MAX_DRAWN_POINTS

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSET_PREFIX = "/_gw/static"
SHARED_MODULES = ("shared.js", "chart_rows.js", "chart_draw.js")  # the only files the asset route serves
IDLE_STATUS_INTERVAL_S = 5.0
_CSS = (STATIC / "live.css").read_text(encoding="utf-8")


def _register(name: str, module: str):
    return st.components.v2.component(f"gan_workbench.{name}", js=(STATIC / module).read_text(encoding="utf-8"),
                                      css=_CSS, isolate_styles=False)


_status = _register("live_status", "live_status.js")
_charts = _register("live_charts", "live_charts.js")
_images = _register("live_images", "live_images.js")
_playground = _register("playground", "playground.js")
_picture = _register("live_picture", "live_picture.js")


def feed_spec(part: str, live: bool, interval: float | None = None, at: Any = None) -> dict[str, Any]:
    """How a component fetches its part: the feed's URL, the part, whether the run is busy (then it follows
    the live pace the user picks; otherwise it fetches once per mount, or every `interval` seconds), and
    `at`, where the run stands as the page drew it: a page redrawn after the run moved (a Step while
    paused) hands the component new data, so it fetches what the step added."""
    return {"url": feed.url(), "part": part, "live": bool(live), "interval": interval, "at": at}


def _rerun() -> None:
    """A trigger's callback: the rerun that follows redraws the page in its new phase."""


def status(part: str, initial: dict[str, Any] | None, phase: list, busy: bool, key: str,
           state: dict[str, Any] | None = None) -> None:
    """A status component (the session's line, the A/B progress, the Runs view's live status): drawn with
    `initial` at once, then fetched at the live pace while busy (every 5 s otherwise), echoing `state` first;
    a phase the page has not drawn reruns the page (its trigger `phase`)."""
    spec = feed_spec(part, busy, None if busy else IDLE_STATUS_INTERVAL_S)
    _status(key=key, data={"key": key, "feed": spec, "phase": phase, "initial": initial, "state": state},
            on_phase_change=_rerun)


def charts(part: str, busy: bool, charts_spec: list[dict[str, Any]], key: str, at: Any = None) -> None:
    """The canvas charts: they keep every row in the browser and fetch only the new ones."""
    _charts(key=key, data={"key": key, "feed": feed_spec(part, busy, at=at), "spec": client_spec(charts_spec)})


def images(part: str, busy: bool, key: str, compact: bool = False, at: Any = None) -> None:
    """The live grid, the real images and the saved-grid timeline (compact: the live grid alone)."""
    _images(key=key, data={"key": key, "feed": feed_spec(part, busy, at=at), "compact": compact})


def saved_grids(part: str, busy: bool, key: str, state: dict[str, Any], pin: str, at: Any = None) -> None:
    """A run's saved-grid timeline alone (the Runs view), following the newest grid while `busy` unless the user
    moves the slider; `state` names what the part shows (echoed to the feed), `pin` the pinned step's parameter."""
    _images(key=key, data={"key": key, "feed": feed_spec(part, busy, at=at), "timeline": True, "state": state,
                           "pin": pin})


def playground(key: str, on_drawn: Callable[[], None], part: str | None = None, busy: bool = False,
               frame: dict[str, Any] | None = None, at: Any = None) -> None:
    """The 2D canvas: a run's frames from the feed (part), or one fixed frame (the data alone, before a run)."""
    data: dict[str, Any] = {"key": key, "frame": frame, "max_points": MAX_DRAWN_POINTS}
    if part is not None:
        data["feed"] = feed_spec(part, busy, at=at)
    _playground(key=key, data=data, on_drawn_change=on_drawn)


def drawn_points(key: str) -> list[list[float]] | None:
    """The points a canvas sent with "Use drawn points", as [[x, y], ...] (unvetted: the config vets them)."""
    value = st.session_state.get(key)
    drawn = value.get("drawn") if hasattr(value, "get") else None
    points = drawn.get("points") if isinstance(drawn, dict) else None
    return points if isinstance(points, list) else None


def picture(part: str, request: dict[str, Any], interval: float | None, key: str, min_width: int,
            at: Any = None) -> None:
    """One picture of the live generator (the explorer's grid or strips), fetched every `interval` seconds."""
    _picture(key=key, data={"key": key, "feed": feed_spec(part, False, interval, at), "request": request,
                            "min_width": min_width})


def asset_routes() -> list:
    """GET /_gw/static/<name>: the components' shared modules, as JavaScript (only the files named above)."""
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def endpoint(request) -> Response:
        name = request.path_params["name"]
        if name not in SHARED_MODULES:
            return PlainTextResponse("name: one of " + ", ".join(SHARED_MODULES) + "\n", status_code=404)
        return Response((STATIC / name).read_bytes(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    return [Route(ASSET_PREFIX + "/{name}", endpoint, methods=["GET"])]
