"""The sidebar's fields and their help come from the config schema: a field added to gan_core/config/schema.py
shows up in the sidebar with its docstring as its help, and no list in the dashboard needs editing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.form import help as form_help
from dashboard.form import sidebar
from gan_core.config.fields import LIVE_FIELDS, field_docstrings, field_help, section_fields
from tests.support.pages import APP

ROOT = Path(__file__).resolve().parents[2]


def test_every_schema_field_is_a_sidebar_field_in_the_schemas_order():
    assert [field for field, *_ in sidebar.FIELDS] == section_fields()
    assert "training.tensorboard" in section_fields() and "training.grid_size" in section_fields()


def test_each_fields_help_is_its_docstring_and_live_fields_say_so():
    docs = field_help()
    assert set(docs) == set(section_fields())  # every field has a docstring
    assert docs["optimizer.lr_g"] == "Generator learning rate."
    for field in section_fields():
        text = form_help.setting_help(field)
        assert text.startswith(docs[field]) and (form_help.LIVE_NOTE in text) == (field in LIVE_FIELDS), field


def test_the_docstring_reader_finds_a_new_field_in_a_schema():
    source = ('class TrainingConfig:\n    """Loop settings."""\n\n    seed: int = 0\n    """Seed for everything."""\n'
              '    tensorboard: bool = True\n    """Write TensorBoard event\n    files."""\n    no_doc: int = 1\n')
    assert field_docstrings(source, {"TrainingConfig": "training"}) == {
        "training.seed": "Seed for everything.", "training.tensorboard": "Write TensorBoard event files."}


def test_a_field_gets_a_widget_from_its_type_and_a_label_from_its_name(monkeypatch):
    assert sidebar._spec("training.tensorboard") == ("training.tensorboard", "TensorBoard event files", "bool", None)
    monkeypatch.delitem(sidebar.LABELS, "training.eval_samples")
    assert sidebar._spec("training.eval_samples") == ("training.eval_samples", "Eval samples", "int", None)
    assert sidebar._spec("loss.loss")[2:] == ("select", sidebar.CHOICES["loss.loss"])
    assert sidebar._spec("data.points")[2] == "points" and sidebar._spec("data.root")[2] == "text"


def test_no_copy_of_the_help_lives_in_the_dashboard():
    names = {node.id for path in (ROOT / "dashboard").rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Name)}
    assert "FIELD_HELP" not in names


@pytest.mark.apptest
def test_the_sidebar_shows_the_new_field_with_its_docstring(runs_root):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    box = at.checkbox(key="cfg.training.tensorboard")
    assert box.label == "TensorBoard event files" and box.help == field_help()["training.tensorboard"]
    assert at.number_input(key="cfg.optimizer.lr_g").help == form_help.setting_help("optimizer.lr_g")
    # The settings reference lists every field with the same words, once opened.
    at.session_state["guide.settings.open"] = True
    at.run()
    reference = next(m.value for m in at.sidebar.markdown if "training.tensorboard" in m.value.replace("\\", ""))
    assert "TensorBoard event files" in reference and len(reference.splitlines()) == len(section_fields())
