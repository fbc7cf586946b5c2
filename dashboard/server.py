"""The dashboard's server: Streamlit's ASGI app for dashboard/app.py plus the live feed's routes.

`python -m dashboard` (and `make dashboard`) runs `streamlit run dashboard/server.py`, which finds `app`
below and serves the page with the feed (dashboard/feed.py): the live view then updates without reruns.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gan_core.threads import prepare_openmp  # noqa: E402  (imports no torch)

prepare_openmp("dashboard")  # before torch loads, as app.py does: the server's process trains too

import streamlit as st  # noqa: E402

from dashboard import feed  # noqa: E402

feed.enable()
app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=feed.routes())
