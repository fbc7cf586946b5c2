"""One live transport, every view, every way of starting (#26 item 7), in a real browser: started with the
launcher or with a plain `streamlit run dashboard/app.py`, each live view (Training for images and for 2D
points, Runs, the latent explorer following the run, A/B) updates through the live feed only: no script rerun
while the user watches, one feed request per refresh carrying every visible part, no blank frame in
screenshots taken every 250 ms, and the user's place (view, zoom) kept through sidebar edits."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from tests.support.browser import (STARTS, VIEWPORT, choose_view, launch_browser, require_chromium, status_step,
                                   status_word, streamlit_server, wait_for_script_done, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
FRAME_S = 0.25


class Watch:
    """What the page sends while the test watches: feed requests (time, parts, query) and rerun requests
    (the page's WebSocket messages: a widget change, a trigger, a rerun)."""

    def __init__(self, page) -> None:
        self.requests: list[tuple[float, list[str], dict]] = []
        self.sent: list[float] = []
        page.on("request", self._request)
        page.on("websocket", lambda socket: socket.on("framesent", lambda _: self.sent.append(time.monotonic())))

    def _request(self, request) -> None:
        if "/_gw/live/all" in request.url:
            query = {name: values[0] for name, values in parse_qs(urlsplit(request.url).query).items()}
            self.requests.append((time.monotonic(), query["parts"].split(","), query))

    def since(self, start: float) -> tuple[list, list]:
        """(feed requests, page messages) after start."""
        return [r for r in self.requests if r[0] >= start], [t for t in self.sent if t >= start]


def _ink(png: bytes, box: dict) -> float:
    """The share of a screenshot region that is not page background (near white): 0 for a blank region."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    x0, y0 = max(0, int(box["x"])), max(0, int(box["y"]))
    region = image[y0:y0 + int(box["height"]), x0:x0 + int(box["width"])]
    return float((region.min(axis=2) < 235).mean()) if region.size else 0.0


def _film(page, seconds: float, selectors: dict[str, str], shots: Path, name: str, during=None) -> list[dict]:
    """Screenshots every 250 ms for `seconds` (running `during()` once after the first), each scored by the ink
    of the live parts' regions (their boxes from the first frame: a part that moved or emptied scores low).
    Every fourth PNG is kept in `shots` for a person to look at."""
    page.locator(next(iter(selectors.values()))).first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the scroll settles
    boxes = {part: page.locator(selector).first.bounding_box() for part, selector in selectors.items()}
    assert all(box and 0 <= box["y"] and box["y"] + 40 <= VIEWPORT["height"] for box in boxes.values()), boxes
    frames = []
    end = time.monotonic() + seconds
    index = 0
    while time.monotonic() < end:
        taken = time.monotonic()
        png = page.screenshot()
        frames.append({part: _ink(png, box) for part, box in boxes.items()})
        if index % 4 == 0:
            (shots / f"{name}_{index:03d}.png").write_bytes(png)
        if index == 0 and during is not None:
            during()
        index += 1
        page.wait_for_timeout(max(1, int(1000 * (FRAME_S - (time.monotonic() - taken)))))
    return frames


def _assert_no_blank_frame(frames: list[dict], floor: dict[str, float]) -> None:
    for index, frame in enumerate(frames):
        for part, ink in frame.items():
            assert ink >= floor[part], f"frame {index}: {part} is blank ({ink:.4f} < {floor[part]})"


def _assert_one_request_per_refresh(requests: list, parts: set[str], watched_s: float) -> None:
    """Each refresh is one request carrying every live part, at the default pace (every 2 s)."""
    assert requests, "no feed request while the run trained"
    assert len(requests) <= watched_s / 2 + 2, [round(t, 2) for t, *_ in requests]
    for _, asked, _ in requests:
        assert parts <= set(asked), asked  # the parts go out together, not one request each


def _start(page) -> None:
    start = page.get_by_role("button", name="Start", exact=True)
    wait_until(lambda: start.is_enabled(), 90, "Start enabled")
    start.click()
    wait_until(lambda: status_word(page) == "running" and status_step(page) > 0, 60, "the run to start")
    wait_for_script_done(page)


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_script_done(page)


@pytest.mark.parametrize("start", STARTS)
def test_the_training_runs_and_explorer_views_are_live_through_the_feed(tmp_path, start):
    require_chromium()
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "shots"
    shots.mkdir()
    with streamlit_server(tmp_path / "runs", start=start) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        watch = Watch(page)
        page.goto(url)
        page.get_by_role("button", name="Start", exact=True).wait_for(timeout=90_000)
        wait_for_script_done(page)
        _start(page)
        wait_until(lambda: page.locator(".gw-live img").evaluate("img => img.naturalWidth") > 0, 30, "a grid")

        # Training: watched for 6 s, every part updates with no rerun, in one request per refresh.
        begin = time.monotonic()
        frames = _film(page, 6.0, {"charts": ".gw-chart canvas", "images": ".gw-live img"}, shots, f"{start}_training")
        requests, sent = watch.since(begin)
        assert sent == [], "the page reran while the user only watched"
        _assert_one_request_per_refresh(requests, {"status", "charts", "images"}, time.monotonic() - begin)
        _assert_no_blank_frame(frames, {"charts": 0.01, "images": 0.2})

        # The place survives a sidebar edit: the zoom and the view, and the charts keep their rows (the next
        # request continues the cursor: nothing is sent twice).
        overlay = page.locator(".gw-chart .gw-overlay").first
        box = overlay.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + 50)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + 50, steps=5)
        page.mouse.up()
        zoom = page.evaluate("() => window.__ganWorkbenchCharts.get('live.charts').zoom")
        assert zoom is not None
        lr_g = page.get_by_label("Learning rate G", exact=True)

        def edit() -> None:
            lr_g.fill("0.0003")
            lr_g.press("Enter")

        begin = time.monotonic()
        frames = _film(page, 3.0, {"charts": ".gw-chart canvas", "images": ".gw-live img"}, shots, f"{start}_edit",
                       during=edit)
        page.get_by_role("button", name=re.compile(r"^Apply ")).wait_for(timeout=30_000)
        _assert_no_blank_frame(frames, {"charts": 0.01, "images": 0.2})
        assert page.evaluate("() => window.__ganWorkbenchCharts.get('live.charts').zoom") == zoom
        assert page.locator(".gw-charts").count() == 1, "the sidebar edit left the Training view"
        wait_until(lambda: len(watch.since(begin)[0]) > 0, 10, "a refresh after the edit")
        assert json.loads(watch.since(begin)[0][0][2]["charts"])["cursor"][1] > 0, "the rows were sent again"

        # Runs: this run's checkpoints and the live steps come through the feed, with no rerun.
        choose_view(page, "Runs")
        page.locator(".gw-status .gw-table").first.wait_for(timeout=30_000)
        wait_for_script_done(page)
        begin = time.monotonic()
        first = page.locator(".gw-status").nth(1).inner_text()
        wait_until(lambda: page.locator(".gw-status").nth(1).inner_text() != first, 20, "the runs status to move")
        requests, sent = watch.since(begin)
        assert sent == [] and all({"status", "runs"} <= set(asked) for _, asked, _ in requests), requests

        # The explorer following the run: its grid is redrawn from the newer generator, with no rerun.
        choose_view(page, "Latent explorer")
        picture = page.locator(".gw-picture img").first
        picture.wait_for(timeout=30_000)
        wait_for_script_done(page)
        begin = time.monotonic()
        step = int(picture.get_attribute("data-step"))
        wait_until(lambda: int(picture.get_attribute("data-step")) > step, 20, "the live picture to move on")
        requests, sent = watch.since(begin)
        assert sent == [] and any("explorer_grid" in asked for _, asked, _ in requests), requests
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()


@pytest.mark.parametrize("start", STARTS)
def test_the_playground_and_ab_views_are_live_through_the_feed(tmp_path, start):
    require_chromium()
    from playwright.sync_api import sync_playwright

    shots = tmp_path / "shots"
    shots.mkdir()
    canvas_step = "() => +document.querySelector('.gw-playground').dataset.step"
    with streamlit_server(tmp_path / "runs", start=start) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        watch = Watch(page)
        page.goto(url)
        page.get_by_role("button", name="Start", exact=True).wait_for(timeout=90_000)
        _choose(page, "Preset", "toy-ring")
        _start(page)

        # The playground: its canvas moves with the run, drawn with the charts in one request per refresh.
        wait_until(lambda: page.evaluate(canvas_step) > 0, 30, "the first frame")
        begin = time.monotonic()
        frames = _film(page, 5.0, {"canvas": ".gw-pg-canvas", "charts": ".gw-chart canvas"}, shots, f"{start}_2d")
        requests, sent = watch.since(begin)
        assert sent == []
        _assert_one_request_per_refresh(requests, {"status", "charts", "playground"}, time.monotonic() - begin)
        _assert_no_blank_frame(frames, {"canvas": 0.5, "charts": 0.01})
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        wait_for_script_done(page)

        # A/B: a toy pair; progress, both canvases and the overlaid curves come through the feed together.
        choose_view(page, "A/B")
        page.get_by_role("button", name="Run A/B").click()
        progress = page.locator(".gw-progress-text:not([hidden])")  # the A/B status, not the status line's
        progress.wait_for(timeout=30_000)
        wait_for_script_done(page)
        begin = time.monotonic()
        first = progress.inner_text()
        wait_until(lambda: progress.inner_text() != first, 20, "the A/B progress to move")
        sides = "() => Array.from(document.querySelectorAll('.gw-playground')).map(r => +r.dataset.step)"
        steps = page.evaluate(sides)
        assert len(steps) == 2
        wait_until(lambda: all(now > then for now, then in zip(page.evaluate(sides), steps)), 20,
                   "both canvases to move")
        frames = _film(page, 3.0, {"a": ".gw-pg-canvas", "b": ".gw-playground >> nth=1"}, shots, f"{start}_ab")
        requests, sent = watch.since(begin)
        assert sent == [], "the page reran while the pair trained"
        assert requests and all({"ab_status", "ab_charts", "ab_a", "ab_b"} <= set(asked) for _, asked, _ in requests)
        _assert_no_blank_frame(frames, {"a": 0.5, "b": 0.5})
        points = page.evaluate("() => +document.querySelector('.gw-chart').dataset.points")
        assert points > 0
        page.get_by_role("button", name="Stop A/B").click()
        wait_until(lambda: not page.get_by_role("button", name="Run A/B").is_disabled(), 60, "the form back")
        browser.close()
