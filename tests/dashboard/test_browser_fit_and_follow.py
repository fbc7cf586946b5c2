"""What a new user found (issue #27), in a real browser: the page fits a 1024-px screen (item 4), the Runs view's
saved grids follow a live run (item 9), a live change while paused redraws the playground at once (item 11), and
after a 2D run an image preset still shows that run with every feed answer whole (item 2)."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.browser import (NARROW_VIEWPORT, VIEWPORT, choose_option, choose_view, feed_statuses, fill_field,
                                   launch_browser, open_options, require_chromium, screenshot, status_step,
                                   status_word, streamlit_server, wait_for_script_done, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

CONTROLS = ("Start", "Pause", "Resume", "Stop", "Step")
# A control whose label is cut ("S..") has an element narrower than its text.
CUT_JS = """(button) => [button, ...button.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)"""
# An image of a live component: its natural and shown width, its scale, and whether its frame clips it.
IMAGE_JS = """(selector) => { const img = document.querySelector(selector); if (!img || !img.naturalWidth) return null;
  const frame = img.closest('.gw-frame'), root = img.closest('.gw-images');
  return {natural: img.naturalWidth, shown: img.getBoundingClientRect().width, scale: img.dataset.scale,
          step: +(img.dataset.step || 0), clipped: frame.scrollWidth > frame.clientWidth + 1,
          overhang: img.getBoundingClientRect().right - root.getBoundingClientRect().right}; }"""
CANVAS_JS = """() => { const r = document.querySelector('.gw-playground');
  return r ? {step: +r.dataset.step, arrow: r.dataset.longestArrow, fakes: +r.dataset.fakePoints} : null; }"""
PAGE_OVERFLOW_JS = """() => { const m = document.querySelector('[data-testid=stMain]');
  return m.scrollWidth - m.clientWidth; }"""


def _shoot_both(page, name: str, focus: str | None = None) -> None:
    """Screenshots at the laptop's size and at 1024x700 (SCREENSHOTS_DIR), with `focus` (a selector) scrolled
    into view; back at the size the page had."""
    before = page.viewport_size
    for size, tag in ((VIEWPORT, "1366"), (NARROW_VIEWPORT, "1024")):
        page.set_viewport_size(size)
        page.wait_for_timeout(800)  # the components refit to their columns
        if focus:
            page.locator(focus).first.scroll_into_view_if_needed()
        screenshot(page, f"{name}_{tag}.png")
    page.set_viewport_size(before)


def _assert_fits(page, selector: str, what: str) -> dict:
    image = page.evaluate(IMAGE_JS, selector)
    assert image is not None, f"{what}: no image shown"
    assert not image["clipped"] and image["overhang"] <= 1, f"{what} is clipped by its column: {image}"
    scale = float(image["scale"])
    assert scale == int(scale) or image["shown"] < image["natural"], f"{what} upscaled by a fraction: {image}"
    return image


def test_the_page_fits_1024_px_and_the_runs_view_follows_the_saved_grids(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with streamlit_server(tmp_path / "runs") as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=NARROW_VIEWPORT)
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        wait_for_script_done(page)
        fill_field(page, "Evaluate quality every N steps (0 = off)", "0")
        # 32x32 images, as an upload of them: their 274-px grid was drawn at 2x, 548 px, in a 505-px column.
        fill_field(page, "Image size (0 = native)", "32")
        fill_field(page, "Save grid every N steps", "20")
        wait_until(lambda: start.is_enabled(), 90, "Start enabled")
        for name in CONTROLS:
            button = page.get_by_role("button", name=name, exact=True)
            assert not button.evaluate(CUT_JS), f"the {name} button's label is cut at 1024 px"
        start.click()
        wait_until(lambda: page.evaluate(IMAGE_JS, ".gw-live img") is not None, 30, "the first live grid")
        wait_until(lambda: page.evaluate(IMAGE_JS, ".gw-real img") is not None, 30, "the real images")
        wait_for_script_done(page)
        for size in (NARROW_VIEWPORT, VIEWPORT):
            page.set_viewport_size(size)
            page.wait_for_timeout(800)
            for selector, what in ((".gw-live img", "the live grid"), (".gw-real img", "the real images")):
                image = _assert_fits(page, selector, f"{what} at {size['width']} px")
                assert image["natural"] == 8 * 34 + 2, f"{what}: not the 32x32 images' grid: {image}"
                assert image["shown"] >= image["natural"], f"{what} is shrunk: {image}"
            assert page.evaluate(PAGE_OVERFLOW_JS) <= 1, f"the page scrolls sideways at {size['width']} px"
        _shoot_both(page, "training_running")

        # The Runs view, the run opened: its saved grids follow the newest as the run saves them.
        folder = re.search(r"run directory: (\S+)", page.get_by_text("run directory:").first.inner_text()).group(1)
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        choose_view(page, "Runs")
        wait_for_script_done(page)
        open_options(page, "Open runs")
        page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
        wait_for_script_done(page)
        wait_until(lambda: page.evaluate(IMAGE_JS, ".gw-saved img") is not None, 30, "the Runs view's saved grid")
        first = page.evaluate(IMAGE_JS, ".gw-saved img")["step"]
        wait_until(lambda: page.evaluate(IMAGE_JS, ".gw-saved img")["step"] >= first + 40, 30,
                   f"the Runs view's saved grid to follow the run past step {first}")
        _assert_fits(page, ".gw-saved img", "the Runs view's saved grid")
        _shoot_both(page, "runs_following", ".gw-saved")
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()


def test_a_paused_2d_run_redraws_on_apply_and_stays_shown_under_an_image_preset(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with streamlit_server(tmp_path / "runs") as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        statuses = feed_statuses(page)
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        wait_for_script_done(page)
        choose_option(page, "Preset", "toy-ring")
        wait_until(lambda: start.is_enabled(), 60, "Start enabled")
        start.click()
        wait_until(lambda: status_word(page) == "running" and status_step(page) > 50, 60, "the ring training")
        page.get_by_role("button", name="Pause", exact=True).click()
        wait_until(lambda: status_word(page) == "paused", 30, "paused")
        wait_for_script_done(page)
        wait_until(lambda: page.evaluate(CANVAS_JS)["step"] == status_step(page), 15, "the paused step drawn")
        before = page.evaluate(CANVAS_JS)

        # minimax applied while paused: G's pull is D(G(z)) times the non-saturating one's; the canvas shows it
        # at once, at the same step.
        choose_option(page, "Loss", "minimax")
        page.get_by_role("button", name=re.compile("^Apply Loss = minimax")).click()
        wait_for_script_done(page)
        wait_until(lambda: page.evaluate(CANVAS_JS)["arrow"] != before["arrow"], 10,
                   "the arrows of minimax drawn without a step")
        assert page.evaluate(CANVAS_JS)["step"] == before["step"] == status_step(page)
        _shoot_both(page, "playground_minimax_applied", ".gw-pg-canvas")

        # Stopped, then an image preset in the sidebar: the view still shows the 2D run the status line names,
        # and no part of any feed answer fails.
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        wait_for_script_done(page)
        final = status_step(page)
        choose_option(page, "Preset", "default")
        time.sleep(4.0)  # the components fetch on mount; the status line every 5 s when idle
        page.wait_for_timeout(1)  # deliver the responses seen meanwhile
        assert statuses and set(statuses) == {200}, f"the live feed answered {sorted(set(statuses))}"
        wait_until(lambda: (page.evaluate(CANVAS_JS) or {}).get("step") == final, 15,
                   f"the finished run's last frame (step {final}) under the image preset")
        assert page.evaluate(CANVAS_JS)["fakes"] > 0
        assert page.locator(".gw-part-error").count() == 0
        _shoot_both(page, "after_2d_run_image_preset", ".gw-pg-canvas")
        browser.close()
