"""`gan-workbench dashboard`: start the page (python -m dashboard) from the installed command. The engine never
imports the page: this replaces the process with the page's own launcher, which checks the address."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_dashboard_parser(commands: Any) -> None:
    """Register the `dashboard` subcommand (the installed command only)."""
    dashboard = commands.add_parser("dashboard", help="start the dashboard in the browser (127.0.0.1:8501)")
    dashboard.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    dashboard.add_argument("--address", default="127.0.0.1",
                           help="listen address; anything but loopback needs GAN_WORKBENCH_ALLOW_REMOTE=1")
    dashboard.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                           help="with GAN_WORKBENCH_ALLOW_REMOTE=1: a host name the page may be reached by")
    dashboard.set_defaults(handler=dashboard_command)


def dashboard_command(args: argparse.Namespace) -> int:
    """Replace this process with `python -m dashboard` and the same flags (it validates them: exit 2)."""
    argv = [sys.executable, "-m", "dashboard", "--port", str(args.port), "--address", args.address]
    for name in args.allowed_host:
        argv += ["--allowed-host", name]
    os.execv(sys.executable, argv)
    return 0  # not reached
