"""The 2D playground in a real browser (#11): Start ring-8 and see fakes and D's surface move, a D-only step
while paused moves the surface and not the fakes, and a distribution drawn on the canvas trains."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.browser import (VIEWPORT, launch_browser, require_chromium, screenshot, status_step, status_word,
                                   streamlit_server, wait_for_script_done, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# What the canvas holds and drew (playground.js sets these on its root after every draw).
CANVAS_JS = """() => { const r = document.querySelector('.gw-playground');
  return r ? {step: +r.dataset.step, surface: +r.dataset.surfaceSum, fake: r.dataset.fakeSum,
              fakes: +r.dataset.fakePoints, drawn: +r.dataset.drawn} : null; }"""


def _canvas(page) -> dict | None:
    return page.evaluate(CANVAS_JS)


def _poll(page, predicate, timeout: float, what: str) -> dict:
    """The canvas state once predicate(state) holds, polled every 50 ms (wait_until polls every 250)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _canvas(page)
        if state is not None and predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_script_done(page)


def test_playground_trains_ring8_steps_d_alone_and_trains_drawn_points(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    runs = tmp_path / "runs"
    with streamlit_server(runs) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        _choose(page, "Preset", "toy-ring")
        wait_until(lambda: (_canvas(page) or {}).get("fakes") == 0, 30, "the canvas with the data alone")
        wait_until(lambda: start.is_enabled(), 60, "Start enabled")

        # Start: the first frame (fakes and D's surface) within 3 s, and the next refresh moves them. The
        # live pace is the user's (every 2 s by default, shared.js): measured 0.5 s, then 2.6 s on a quiet
        # 2-core machine; up to 2.6 s to the first frame while a test suite shared the cores (load 3.7).
        start.click()
        clicked = time.monotonic()
        first = _poll(page, lambda c: c["fakes"] > 0 and c["surface"] > 0, 10, "fakes and D's surface")
        shown = time.monotonic()
        assert shown - clicked < 3.0, f"the first frame came {shown - clicked:.2f} s after Start"
        _poll(page, lambda c: c["surface"] != first["surface"] and c["fake"] != first["fake"], 10,
              "the surface and the fakes moving")
        pace = page.evaluate("() => Number(localStorage.getItem('ganWorkbench.livePace')) || 2")
        assert time.monotonic() - shown < pace + 1.5, f"the heatmap changed {time.monotonic() - shown:.2f} s later"
        time.sleep(1.0)
        screenshot(page, "playground_ring8.png")

        # Pause, then D step: the surface changes, the fakes stay where they are.
        page.get_by_role("button", name="Pause", exact=True).click()
        wait_until(lambda: status_word(page) == "paused", 30, "paused")
        wait_for_script_done(page)
        wait_until(lambda: _canvas(page)["step"] == status_step(page), 10, "the canvas at the paused step")
        before = _canvas(page)
        page.get_by_role("button", name="D step", exact=True).click()
        wait_until(lambda: _canvas(page)["step"] == before["step"] + 1, 15, "the D step drawn")
        after = _canvas(page)
        assert after["surface"] != before["surface"], "D's surface did not move on a D-only step"
        assert after["fake"] == before["fake"], "the fakes moved on a D-only step"
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        wait_for_script_done(page)

        # Draw: spray a stroke and a few clicks on the canvas, use them, and train on them.
        page.get_by_role("button", name="Draw points", exact=True).click()
        box = page.locator(".gw-pg-canvas").bounding_box()
        x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
        page.mouse.move(x0, y0)
        page.mouse.down()
        for i in range(1, 16):
            page.mouse.move(x0 + i * 10, y0 - i * 4)
        page.mouse.up()
        for dx in (0.2, 0.8):
            page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * 0.2)
        drawn = _canvas(page)["drawn"]
        assert drawn >= 10, f"only {drawn} points were drawn"
        page.get_by_role("button", name="Use drawn points", exact=True).click()
        wait_until(lambda: page.get_by_text(f"Drawn points: {drawn}").count() > 0, 30, "the sidebar's drawn points")
        # The drawing became the data: the canvas leaves drawing mode and shows them as the real points.
        wait_until(lambda: _canvas(page)["drawn"] == 0, 30, "the drawing handed over as the data")
        wait_until(lambda: start.is_enabled(), 60, "Start enabled for the drawn set")
        start.click()
        wait_until(lambda: status_word(page) == "running" and status_step(page) > 20, 30, "training on drawn points")
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()
    configs = [json.loads((run / "config.json").read_text()) for run in sorted(Path(runs).iterdir()) if run.is_dir()]
    assert [c["data"]["name"] for c in configs] == ["ring8", "drawn"]
    assert len(configs[1]["data"]["points"]) == drawn
