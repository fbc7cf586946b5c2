"""AppTest tests of the sidebar's "Upload your images": a good zip imports with its counts and points the data
fields at it; zip-slip, symlinks and oversize uploads are refused with the limit named and nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gan_core.data import image_import
from tests.support.pages import APP, unescaped
from tests.support.uploads import shapes_zip, solid_png

pytestmark = [pytest.mark.apptest, pytest.mark.timeout(300)]


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The page with data set `folder` chosen, its runs root in tmp_path/runs."""
    monkeypatch.setenv("GAN_WORKBENCH_RUNS", str(tmp_path / "runs"))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.selectbox(key="cfg.data.name").set_value("folder").run()
    yield at
    st.cache_resource.clear()


def _upload(at, name: str, content: bytes) -> None:
    at.sidebar.file_uploader[0].set_value((name, content, "application/zip")).run()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if not p.is_dir()) if folder.exists() else []


def _upload_errors(at) -> list[str]:
    """The sidebar's error messages other than the empty Image folder's, escapes taken off."""
    return [unescaped(e.value) for e in at.sidebar.error if not e.value.startswith("data.path=")]


def _following(at, key: str):
    """The sidebar element drawn right after the widget with this key."""
    elements = [node for node in at.sidebar if not hasattr(node, "children")]
    keys = [getattr(node, "key", None) for node in elements]
    return elements[keys.index(key) + 1]


def test_a_good_zip_imports_with_its_counts_and_points_the_data_fields_at_it(app, tmp_path):
    assert not app.sidebar.image  # no upload chosen yet: no preview
    _upload(app, "shapes.zip", shapes_zip(extra=[("shapes/notes.txt", b"hi"), ("shapes/square/bad.png", b"nope")]))
    assert app.text_input(key="upload.name").value == "shapes"  # suggested from the zip's name
    app.text_input(key="upload.name").set_value("my-shapes")
    app.selectbox(key="upload.size").set_value(16)
    app.selectbox(key="upload.channels").set_value(3).run()
    app.button(key="upload.import").click().run()
    assert not app.exception
    folder = (tmp_path / "runs" / "data" / "my-shapes").resolve()
    message = unescaped(app.sidebar.success[0].value)
    assert message == ("Imported 20 images in 2 classes (circle 10, square 10) as data/my-shapes; skipped "
                       "1 not images, 1 unreadable. Image folder, Image size and Channels now point at it."), message
    assert len(_files_under(folder / "circle")) == 10 and len(_files_under(folder / "square")) == 10
    # The sidebar's data fields now point at the new folder, at the chosen size and channels.
    assert app.text_input(key="cfg.data.path").value == str(folder)
    assert app.number_input(key="cfg.data.image_size").value == 16
    assert app.selectbox(key="cfg.data.channels").value == 3
    assert not app.sidebar.error
    # The preview grid and the counts, before Start.
    assert len(app.sidebar.image) == 1
    captions = [unescaped(c.value) for c in app.sidebar.caption]
    assert ("my-shapes: 20 images in 2 classes (circle 10, square 10), 16×16 RGB; its import skipped "
            "1 not images, 1 unreadable. Its class folders are the labels.") in captions, captions
    assert not app.sidebar.file_uploader[0].value  # the uploader is emptied after an import
    app.number_input(key="cfg.training.batch_size").set_value(16).run()  # 20 images: a batch must fit
    assert not app.button(key="btn.start").disabled, [e.value for e in app.error]


@pytest.mark.parametrize("member, refusal", [
    ("shapes/../../**evil**<b>x</b>.png", "climbs out of its folder with '..': allowed only paths that stay inside"),
    ("/etc/evil.png", "has an absolute or Windows path: allowed only relative paths"),
])
def test_a_zip_slip_archive_is_refused_naming_the_rule_and_writes_nothing(app, tmp_path, member, refusal):
    _upload(app, "slip.zip", shapes_zip(per_class=2, extra=[(member, solid_png(1))]))
    app.button(key="upload.import").click().run()
    assert not app.exception
    (error,) = _upload_errors(app)
    assert refusal in error and error.startswith("Nothing imported: archive member")
    raw = next(e.value for e in app.sidebar.error if e.value.startswith("Nothing"))
    assert "**evil**" not in raw and "<b>" not in raw  # the member's name shows as text, not markup
    assert _files_under(tmp_path) == []
    assert app.text_input(key="cfg.data.path").value == "" and not app.sidebar.image


def test_a_symlink_in_the_archive_is_refused(app, tmp_path):
    _upload(app, "link.zip", shapes_zip(per_class=2, symlink="shapes/circle/link.png"))
    app.button(key="upload.import").click().run()
    (error,) = _upload_errors(app)
    assert "is a symbolic link: links are not allowed" in error
    assert _files_under(tmp_path) == []


def test_an_oversize_upload_is_refused_by_its_size_before_import(app, tmp_path, monkeypatch):
    monkeypatch.setattr(image_import, "MAX_UPLOAD_BYTES", 1000)
    app.run()  # the uploader's own per-file limit follows (1 MB): a changed limit resets the widget
    app.sidebar.file_uploader[0].set_value([("a.png", solid_png(1) * 9, "image/png"),
                                            ("b.png", solid_png(2) * 9, "image/png")])
    app.text_input(key="upload.name").set_value("big").run()
    assert not app.exception
    error = _following(app, app.sidebar.file_uploader[0].key)
    assert error.type == "error", error
    assert re.fullmatch(r"the upload is [\d,]+ bytes: allowed at most 1,000 bytes in all", unescaped(error.value))
    assert app.button(key="upload.import").disabled
    assert _files_under(tmp_path) == []


def test_a_bad_or_taken_name_is_refused_beside_the_field_and_replace_swaps_the_folder(app, tmp_path):
    _upload(app, "shapes.zip", shapes_zip(per_class=2))
    app.text_input(key="upload.name").set_value("../up").run()
    error = _following(app, "upload.name")
    assert error.type == "error" and unescaped(error.value).startswith("name='../up' is invalid: allowed 1-64 letters")
    assert app.button(key="upload.import").disabled
    taken = tmp_path / "runs" / "data" / "taken"
    (taken / "old").mkdir(parents=True)
    (taken / "old" / "x.png").write_bytes(solid_png(9))
    app.text_input(key="upload.name").set_value("taken").run()
    error = _following(app, "upload.name")
    assert error.type == "error" and "name='taken' is taken" in unescaped(error.value)
    assert "allowed a new name, or tick Replace" in unescaped(error.value)
    assert app.button(key="upload.import").disabled
    app.checkbox(key="upload.replace").check().run()
    assert _upload_errors(app) == []
    assert not app.button(key="upload.import").disabled
    app.button(key="upload.import").click().run()
    assert not app.exception and app.sidebar.success
    assert sorted(p.parent.name for p in _files_under(taken)) == ["circle", "circle", "square", "square"]
    assert [p.name for p in (tmp_path / "runs" / "data").iterdir()] == ["taken"]  # no staging left behind


def test_the_preview_shows_only_folders_inside_the_runs_data_folder(app, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.png").write_bytes(solid_png(3))
    app.text_input(key="cfg.data.path").set_value(str(outside)).run()
    assert not app.exception and not app.sidebar.image
    inside = tmp_path / "runs" / "data" / "mine"
    inside.mkdir(parents=True)
    for index in range(3):
        (inside / f"{index}.png").write_bytes(solid_png(index * 80))
    app.text_input(key="cfg.data.path").set_value(str(inside)).run()
    assert len(app.sidebar.image) == 1
    assert "mine: 3 images, 20×24 RGB." in [unescaped(c.value) for c in app.sidebar.caption]
