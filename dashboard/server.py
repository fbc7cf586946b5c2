"""The dashboard's server: Streamlit's ASGI app for dashboard/app.py plus the live feed's routes.

`python -m dashboard` (and `make dashboard`) runs `streamlit run dashboard/server.py`, which finds `app`
below and serves the page with the feed (dashboard/feed.py): the live view then updates without reruns.
Around all of it, serving.HostGuard answers 403 to any request addressed to a name that is not loopback (or
one the user named): a web page that rebinds its own name to 127.0.0.1 gets no page, WebSocket or feed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gan_core.runtime.threads import prepare_openmp  # noqa: E402  (imports no torch)

prepare_openmp("dashboard")  # before torch loads, as app.py does: the server's process trains too

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from dashboard import feed, serving  # noqa: E402

feed.enable()
# The listen address is read per request, so the guard always compares with the one Streamlit serves on.
app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=feed.routes(),
             middleware=[Middleware(serving.HostGuard, address=lambda: st.get_option("server.address"))])
