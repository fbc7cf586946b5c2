"""Own images from the browser (#12): upload a zip of generated PNGs in the sidebar, see the preview grid and
the counts, then Start trains on the imported folder."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.support.browser import (VIEWPORT, launch_browser, require_chromium, screenshot, status_step, status_word,
                                   streamlit_server, wait_for_script_done, wait_until)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

# The sidebar's preview grid has decoded (a broken image has naturalWidth 0).
PREVIEW_JS = """() => { const img = document.querySelector('[data-testid=stSidebar] [data-testid=stImage] img');
  return img && img.complete ? img.naturalWidth : 0; }"""


def _shapes_zip(path: Path, per_class: int = 20) -> None:
    """40 tiny PNGs in two class folders, as 'compress folder' zips them (one top folder)."""
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(per_class):
            for label, colour in (("circle", (220, 40 + 8 * index, 40)), ("square", (40, 40 + 8 * index, 220))):
                buffer = io.BytesIO()
                Image.new("RGB", (16, 16), color=colour).save(buffer, format="PNG")
                archive.writestr(f"shapes/{label}/{index:02d}.png", buffer.getvalue())
        archive.writestr("shapes/readme.txt", b"not an image")


def _choose(page, label: str, option: str) -> None:
    select = page.get_by_label(label, exact=True)
    # Scrolled first: a select's list closes when the sidebar scrolls, which a click below the fold makes it do.
    select.scroll_into_view_if_needed()
    time.sleep(0.3)
    select.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_script_done(page)


def test_upload_a_zip_see_its_preview_and_counts_and_train_on_it(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    archive = tmp_path / "shapes.zip"
    _shapes_zip(archive)
    runs = tmp_path / "runs"
    with streamlit_server(runs) as url, sync_playwright() as playwright:
        browser = launch_browser(playwright)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        start = page.get_by_role("button", name="Start", exact=True)
        start.wait_for(timeout=60_000)
        _choose(page, "Data set", "folder")
        sidebar = page.get_by_test_id("stSidebar")
        # The expander is open while no folder is chosen; the uploader's hidden <input type=file> takes the zip.
        sidebar.locator("input[type=file]").set_input_files(str(archive))
        name = page.get_by_label("Data set name", exact=True)
        wait_until(lambda: name.input_value() == "shapes", 30, "the name suggested from the zip")
        name.fill("my-shapes")
        name.press("Enter")
        wait_for_script_done(page)
        _choose(page, "Resize to", "16×16")
        page.get_by_role("button", name="Import", exact=True).click()
        wait_until(lambda: sidebar.get_by_text("Imported 40 images in 2 classes (circle 20, square 20)").count() > 0,
                   60, "the import's counts")
        assert sidebar.get_by_text("skipped 1 not images").count() > 0
        wait_until(lambda: page.evaluate(PREVIEW_JS) > 0, 30, "the preview grid")
        counts = "my-shapes: 40 images in 2 classes (circle 20, square 20), 16×16 RGB"
        assert sidebar.get_by_text(counts).count() == 1
        folder = (runs / "data" / "my-shapes").resolve()
        assert page.get_by_label("Image folder", exact=True).input_value() == str(folder)
        sidebar.get_by_test_id("stExpander").first.evaluate("e => e.scrollIntoView({block: 'start'})")  # the upload
        screenshot(page, "upload_preview.png")

        wait_until(lambda: start.is_enabled(), 60, "Start enabled on the imported folder")
        start.click()
        wait_until(lambda: status_word(page) == "running" and status_step(page) > 0, 60, "training on the upload")
        page.get_by_role("button", name="Stop", exact=True).click()
        wait_until(lambda: status_word(page) == "finished", 60, "finished")
        browser.close()
    (run,) = [path for path in runs.iterdir() if path.is_dir() and path.name != "data"]
    data = json.loads((run / "config.json").read_text())["data"]
    assert (data["name"], data["path"], data["image_size"], data["channels"]) == ("folder", str(folder), 16, 3)
    assert sorted(p.relative_to(folder).parts[0] for p in folder.rglob("*.png")) == ["circle"] * 20 + ["square"] * 20
    assert not re.search(r"\.incoming|\.import", " ".join(p.name for p in (runs / "data").iterdir()))
