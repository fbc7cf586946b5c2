"""Launcher: python -m dashboard [--port N] [--address A]; binds 127.0.0.1 whatever the working folder."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboard.serving import ALLOW_REMOTE_ENV, DEFAULT_ADDRESS, refusal

# The page (app.py) inside Streamlit's ASGI app with the live feed's routes (dashboard/feed.py).
APP = Path(__file__).resolve().parent / "server.py"


def main(argv: list[str] | None = None) -> int:
    """Check the address, then replace this process with `streamlit run dashboard/server.py` and explicit flags."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default=DEFAULT_ADDRESS,
                        help=f"listen address; anything but loopback needs {ALLOW_REMOTE_ENV}=1")
    args = parser.parse_args(argv)
    message = refusal(args.address, os.environ)
    if message:
        sys.stderr.write(f"error: {message}\n")
        return 2
    if not 1 <= args.port <= 65535:
        sys.stderr.write(f"error: --port={args.port} is invalid: allowed 1 to 65535\n")
        return 2
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", args.address,
               "--server.port", str(args.port), "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               # A full gc.collect after every (fragment) run holds the GIL ~0.3 s a second: see config.toml.
               "--runner.postScriptGC", "false"]
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())
