"""The Training view of a 2D run (#11): the live charts beside the playground canvas (D's surface, real and fake
points, G's arrows and mesh; drawing one's own points), and its short guide. A run's frames come from the
live feed (a new frame only when the run moved on); before a run the canvas shows the data alone."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.form.help import PLAYGROUND_GUIDE
from dashboard.form.sidebar import use_drawn_points
from dashboard.live import components
from dashboard.live.frames import data_views, playground_message
from dashboard.live.spec import training_charts
from dashboard.resources import cached_dataset

CANVAS_KEY = "playground"


def render_playground(source: tuple[str, Any], busy: bool, at: tuple) -> None:
    """source: ("run", the run's config) follows the session's 2D run; ("data", a 2D data config, or None while a
    drawn set is still being drawn) shows the data alone. `at`: where the run stands as this page is drawn."""
    charts_column, canvas_column = st.columns([0.85, 1.15], gap="medium")
    with charts_column:
        components.charts("charts", busy, training_charts(), key="live.charts", at=at)
    with canvas_column:
        kind, config = source
        if kind == "run":
            components.playground(CANVAS_KEY, _use_drawn, part="playground", busy=busy, at=at)
        else:
            real = cached_dataset(config).images if config is not None else None
            frame, _ = playground_message(data_views(f"data:{config}", real), {})
            components.playground(CANVAS_KEY, _use_drawn, frame=frame)
        st.caption(PLAYGROUND_GUIDE)


def _use_drawn() -> None:
    """The canvas sent drawn points: the sidebar, drawn after this callback, switches to data set `drawn`."""
    points = components.drawn_points(CANVAS_KEY)
    if points is not None:
        use_drawn_points(points)
