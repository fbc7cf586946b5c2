"""The digit canvas (a components v2 component, dashboard/static/digit_canvas.js): the user draws a digit in the
page and sends it at the generator's size. Its message is untrusted: dashboard/ui/targets.py vets it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

STATIC = Path(__file__).resolve().parents[2] / "static"
CANVAS_PIXELS = 224  # on screen: the generator's size scaled up by a whole factor to about this
_CSS = """
.gw-digit { font: 12px sans-serif; color: #333; }
.gw-digit-canvas { display: block; touch-action: none; cursor: crosshair; border: 1px solid #bbb;
  image-rendering: pixelated; max-width: 100%; }
.gw-digit-bar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 4px 0; }
.gw-digit-bar button { font: 12px sans-serif; padding: 1px 8px; }
.gw-digit-hint { color: #666; }
"""
_canvas = st.components.v2.component("gan_workbench.digit_canvas",
                                     js=(STATIC / "digit_canvas.js").read_text(encoding="utf-8"), css=_CSS,
                                     isolate_styles=False)


def _keep_drawing(key: str, kept_key: str) -> None:
    """The canvas's trigger: keep what it sent (a trigger's value lasts one run) for the Project button."""
    value = st.session_state.get(key)
    drawn = value.get("drawn") if hasattr(value, "get") else None
    if drawn is not None:
        st.session_state[kept_key] = drawn


def digit_canvas(key: str, kept_key: str, width: int, height: int) -> Any:
    """Draw the canvas for images of width x height; returns the last drawing it sent (unvetted), or None."""
    scale = max(1, CANVAS_PIXELS // max(width, height))
    _canvas(key=key, data={"key": key, "width": int(width), "height": int(height), "scale": scale},
            on_drawn_change=lambda: _keep_drawing(key, kept_key))
    return st.session_state.get(kept_key)
