"""Real browser: Debian's Chromium driven by Playwright against `streamlit run` on 127.0.0.1."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.browser_support import (launch_browser, require_chromium, status_step, status_word,
                                   streamlit_server, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# Points drawn per chart, by chart title (Plotly decodes its data into _fullData[i]._length).
PLOT_POINTS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(div => [div.layout.title.text.replace(/<[^>]+>/g, ''),
                 (div._fullData || []).reduce((n, trace) => n + (trace._length || 0), 0)]))"""


def _shot(page, name: str) -> None:
    """Screenshots for docs/ when SCREENSHOTS_DIR is set (not in CI)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_train_pause_step_resume_explore_stop(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    runs_root = tmp_path / "runs"
    # Train the quality classifier into the test's cache first, so the run's first live
    # evaluation (step 500) costs a fraction of a second, not the one-off ~20 s.
    from gan_core.config import DataConfig
    from gan_core.evaluate import Evaluator

    Evaluator.for_data(DataConfig())
    with streamlit_server(runs_root) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        _shot(page, "dashboard_idle.png")

        start.click()
        wait_until(lambda: status_step(page) > 5, 90, "the step count to rise")
        first = status_step(page)
        points_before = page.evaluate(PLOT_POINTS_JS)
        wait_until(lambda: status_step(page) > first + 5, 60, "the step count to keep rising")
        wait_until(lambda: _charts_grew(page.evaluate(PLOT_POINTS_JS), points_before), 30,
                   "the loss and score charts to gain points")
        _shot(page, "dashboard_training.png")

        page.get_by_role("button", name="Pause", exact=True).click()
        wait_until(lambda: status_word(page) == "paused", 30, "paused")
        held = status_step(page)
        time.sleep(2.0)
        page.reload()  # a fresh page load reads the session again: same run, same step
        page.get_by_role("button", name="Resume", exact=True).wait_for(timeout=60_000)
        wait_until(lambda: status_word(page) == "paused", 30, "paused after reload")
        assert status_step(page) == held, "the step count moved while paused"

        page.get_by_role("button", name="Step", exact=True).click()
        wait_until(lambda: status_step(page) == held + 1, 30, "exactly one more step")
        time.sleep(1.0)
        assert status_step(page) == held + 1 and status_word(page) == "paused"

        page.get_by_role("button", name="Resume", exact=True).click()
        wait_until(lambda: status_step(page) > held + 3, 60, "training to continue")

        page.get_by_role("tab", name="Latent explorer").click()
        steps_input = page.get_by_label("Steps", exact=True)
        steps_input.fill("5")
        steps_input.press("Enter")
        wait_until(lambda: page.get_by_text(re.compile(r"slerp, 5 steps from seed 1 to seed 2")).count() > 0,
                   60, "the interpolation strip of 5 steps")
        _shot(page, "dashboard_explorer.png")

        page.get_by_role("tab", name="Training").click()
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()
    checkpoints = list(runs_root.glob("*/checkpoints/latest.pt"))
    assert len(checkpoints) == 1 and checkpoints[0].stat().st_size > 0


def _charts_grew(after: dict[str, int], before: dict[str, int]) -> bool:
    """The losses and scores charts hold more points than before."""
    return all(after.get(title, 0) > before.get(title, 0) for title in ("Losses", "Discriminator scores"))
