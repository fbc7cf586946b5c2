"""Reading the page's live components in AppTest: what the page mounted them with (their JSON data), e.g. the
status component's first message. AppTest runs no JavaScript, so this is all a component shows there."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest


def component_data(at: AppTest, key: str) -> dict[str, Any]:
    """The data a component was mounted with (the last one under this key); AssertionError when none is."""
    found = [element for element in at.get("bidi_component") if element.key == key]
    assert found, f"no component with key {key!r}: {[element.key for element in at.get('bidi_component')]}"
    return json.loads(found[-1].proto.json)


def component_keys(at: AppTest) -> list[str]:
    """The keys of every live component on the page, in order."""
    return [element.key for element in at.get("bidi_component")]


def status_of(at: AppTest, key: str = "live.status") -> tuple[str, int]:
    """(state word, step) of the status line as the page drew it."""
    message = component_data(at, key)["initial"]
    return message["status"], int(message["step"])


def run_dir_of(at: AppTest) -> Path:
    """The run directory the status line names."""
    return Path(component_data(at, "live.status")["initial"]["run_dir"])


def run_line_of(at: AppTest) -> tuple[str, int]:
    """(status, steps) of the one opened run, from the Runs view's live status as the page drew it."""
    lines = [text for _, text in component_data(at, "runs.status")["initial"]["lines"]]
    assert lines, "no opened run's line"
    return re.search(r"status (\w+)", lines[0]).group(1), int(re.search(r"steps (\d+)", lines[0]).group(1))
