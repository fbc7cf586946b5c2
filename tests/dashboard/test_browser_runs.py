"""Real browser (Debian's Chromium + Playwright) on the Runs view: compare runs in distinct colours with the
quality overlay, every invalid setting flagged at once, rename/tag, delete with confirmation (never a live
run), open a checkpoint in the explorer, and a replaced latest.pt reloaded there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import (VIEWPORT, choose_option, choose_view, fill_field, launch_browser, open_options,
                                   require_chromium, screenshot, streamlit_server, wait_for_script_done, wait_until)
from tests.support.configs import TINY_CLI_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]
QUALITY_HEADER = "step,fid,classes_covered,kl_uniform,precision,recall,diversity,eval_s\n"
# Per Plotly chart on the page: its title and each trace's (name, line colour).
PLOTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => ({
    title: ((p.layout && p.layout.title && p.layout.title.text) || '').replace(/<[^>]+>/g, ''),
    traces: (p.data || []).map(t => [t.name, t.line && t.line.color])}))"""


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[str, Path]:
    """Three real 12-step runs (checkpoints at steps 5, 10, 12) with two quality rows each; tests copy them."""
    base = tmp_path_factory.mktemp("browser-templates")
    runs = {}
    for name, lr_g, fids in (("slow", "2e-4", (80.0, 60.0)), ("fast", "1e-3", (70.0, 40.0)),
                             ("mid", "5e-4", (75.0, 52.0))):
        run_dir = base / name
        subprocess.run([sys.executable, "-m", "gan_core", "train", *TINY_CLI_ARGS, "--steps", "12", "--set",
                        "training.checkpoint_every=5", "--set", f"lr_g={lr_g}", "--run-dir", str(run_dir)],
                       check=True, stdout=subprocess.DEVNULL)
        (run_dir / "quality.csv").write_text(QUALITY_HEADER + "".join(
            f"{step},{fid},9,0.1,0.5,0.4,1.0,0.2\n" for step, fid in zip((5, 10), fids)))
        runs[name] = run_dir
    return runs


def _open_page(browser, url: str):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    start = page.get_by_role("button", name="Start", exact=True)
    start.wait_for(timeout=60_000)
    wait_until(lambda: start.is_enabled(), 60, "Start enabled")
    wait_for_script_done(page)
    return page


def _choose_runs(page, *names: str) -> None:
    """Pick runs in the "Open runs" multiselect, one option click each."""
    for name in names:
        option = page.get_by_role("option", name=name, exact=True)
        if not option.is_visible():
            open_options(page, "Open runs")
        option.click()
        wait_for_script_done(page)
    page.keyboard.press("Escape")
    wait_for_script_done(page)


def test_compare_in_distinct_colours_with_quality_and_all_invalid_fields_flagged(tmp_path, templates):
    require_chromium()
    from playwright.sync_api import sync_playwright

    runs_root = tmp_path / "runs"
    shutil.copytree(templates["slow"], runs_root / "baseline")
    shutil.copytree(templates["fast"], runs_root / "faster-G")
    shutil.copytree(templates["mid"], runs_root / "lr-5e-4")
    with streamlit_server(runs_root) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = _open_page(browser, url)
        assert page.get_by_text("New here?").first.is_visible()

        fill_field(page, "Learning rate G", "5")
        fill_field(page, "Batch size", "0")
        banner = page.get_by_text(re.compile(r"^Fix these 2 settings to start")).first
        banner.wait_for(timeout=30_000)
        assert "Learning rate G" in banner.inner_text() and "Batch size" in banner.inner_text()
        sidebar_errors = page.get_by_test_id("stSidebar").get_by_test_id("stAlertContainer")
        wait_until(lambda: sidebar_errors.count() == 2, 10, "one message under each of the two fields")
        assert not page.get_by_role("button", name="Start", exact=True).is_enabled()
        screenshot(page, "dashboard_invalid_fields.png")
        fill_field(page, "Learning rate G", "0.0004")
        fill_field(page, "Batch size", "32")
        wait_until(lambda: page.get_by_role("button", name="Start", exact=True).is_enabled(), 30, "Start enabled")

        choose_view(page, "Runs")
        _choose_runs(page, "baseline", "faster-G", "lr-5e-4")
        wait_until(lambda: {"d_loss", "fid"} <= {p["title"] for p in page.evaluate(PLOTS_JS)}, 30,
                   "the overlays with the quality (FID) chart")
        plots = {p["title"]: p["traces"] for p in page.evaluate(PLOTS_JS)}
        colours: dict[str, str] = {}
        for title in ("d_loss", "g_loss", "d_real", "d_fake", "fid"):
            names = [name for name, _ in plots[title]]
            assert names == ["baseline", "faster-G", "lr-5e-4"], (title, names)
            assert len({colour for _, colour in plots[title]}) == 3, (title, plots[title])
            for name, colour in plots[title]:
                assert colours.setdefault(name, colour) == colour, (title, name)
        page.get_by_text("Open runs (one to inspect").evaluate("e => e.scrollIntoView({block: 'start'})")
        screenshot(page, "dashboard_runs.png")
        browser.close()


def test_rename_delete_with_confirmation_and_open_checkpoints_in_the_explorer(tmp_path, templates):
    require_chromium()
    import torch
    from playwright.sync_api import sync_playwright

    from gan_core.runs.checkpoint import save_checkpoint
    from gan_core.runs.lock import acquire_run_lock, release_run_lock

    runs_root = tmp_path / "runs"
    explore = Path(shutil.copytree(templates["slow"], runs_root / "explore-me"))
    doomed = Path(shutil.copytree(templates["fast"], runs_root / "doomed"))
    owned = Path(shutil.copytree(templates["slow"], runs_root / "owned"))
    acquire_run_lock(owned)  # this test's process is alive: the server sees a live owner
    try:
        with streamlit_server(runs_root) as url, sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = _open_page(browser, url)
            choose_view(page, "Runs")

            # A live run: the delete button is off and says why.
            _choose_runs(page, "owned")
            assert not page.get_by_role("button", name="Delete this run...").is_enabled()
            page.get_by_text(re.compile(r"Cannot delete: a live process is training it")).wait_for(timeout=10_000)

            # Rename and tag; the folder keeps its name.
            page = _open_page(browser, url)
            choose_view(page, "Runs")
            _choose_runs(page, "doomed")
            page.get_by_text("Name, tags and note", exact=True).click()
            page.get_by_label("Display name", exact=True).fill("short-lived")
            page.get_by_label("Tags (comma-separated)", exact=True).fill("sweep, lr")
            page.get_by_role("button", name="Save name, tags and note").click()
            page.get_by_text("Saved: short-lived · tags sweep, lr").wait_for(timeout=30_000)
            assert json.loads((doomed / "run_meta.json").read_text())["tags"] == ["sweep", "lr"]
            assert doomed.is_dir()

            # Delete asks first.
            page.get_by_role("button", name="Delete this run...").click()
            page.get_by_text(re.compile(r"and all its files .* cannot be undone")).wait_for(timeout=30_000)
            assert doomed.is_dir()
            screenshot(page, "dashboard_runs_delete.png")
            page.get_by_role("button", name="Yes, delete it").click()
            page.get_by_text("Deleted doomed.").wait_for(timeout=30_000)
            assert not doomed.exists() and explore.is_dir() and owned.is_dir()

            # Open a chosen checkpoint in the explorer: it shows that checkpoint's step.
            _choose_runs(page, "explore-me")
            choose_option(page, "Checkpoint", "step_0000005.pt (step 5)")
            page.get_by_role("button", name="Open in latent explorer").click()
            page.get_by_text(re.compile(r"^Loaded step_0000005\.pt at step 5")).wait_for(timeout=60_000)

            # latest.pt, then replaced (as a resumed run replaces it): the explorer reloads it.
            choose_view(page, "Runs")
            choose_option(page, "Checkpoint", "latest.pt")
            page.get_by_role("button", name="Open in latent explorer").click()
            page.get_by_text(re.compile(r"^Loaded latest\.pt at step 12")).wait_for(timeout=60_000)
            state = torch.load(explore / "checkpoints" / "step_0000010.pt", weights_only=True)
            save_checkpoint(state, explore / "checkpoints" / "latest.pt")
            fill_field(page, "From seed", "3")  # any rerun of the explorer
            page.get_by_text(re.compile(r"^Loaded latest\.pt at step 10")).wait_for(timeout=60_000)
            browser.close()
    finally:
        release_run_lock(owned)
