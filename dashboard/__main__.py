"""Launcher: python -m dashboard [--port N] [--address A] [--allowed-host NAME ...]; binds 127.0.0.1 whatever
the working folder, and answers only pages addressed to a loopback name unless the user opts in."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dashboard.serving import (ALLOW_REMOTE_ENV, ALLOWED_HOSTS_ENV, DEFAULT_ADDRESS, listen_address, normal_name,
                               refusal, remote_allowed)

# The page; as `streamlit run` imports it, it is also Streamlit's ASGI app with the live feed (app.py).
APP = Path(__file__).resolve().parent / "app.py"


def _allowed_hosts(flags: list[str], environ: dict[str, str]) -> str:
    """GAN_WORKBENCH_ALLOWED_HOSTS for the server: the environment's names, then --allowed-host's; ValueError
    naming the bad one (a name is a host name or IP address: no port, no wildcard)."""
    inherited = [item.strip() for item in environ.get(ALLOWED_HOSTS_ENV, "").split(",") if item.strip()]
    for name in inherited:
        if normal_name(name) is None:
            raise ValueError(f"{ALLOWED_HOSTS_ENV}={name!r} is invalid: comma-separated host names or IP "
                             "addresses, without ports or wildcards")
    for name in flags:
        if normal_name(name) is None:
            raise ValueError(f"--allowed-host={name!r} is invalid: a host name or IP address, without a port "
                             "or wildcard (repeat the flag for several)")
    if flags and not remote_allowed(environ):
        raise ValueError(f"--allowed-host needs {ALLOW_REMOTE_ENV}=1: names other than loopback ones are "
                         "answered only when you opt into remote serving (docs/threat_model.md)")
    return ",".join(inherited + flags)


def main(argv: list[str] | None = None) -> int:
    """Check the flags, then replace this process with `streamlit run dashboard/app.py` and explicit flags."""
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default=DEFAULT_ADDRESS,
                        help=f"listen address; anything but loopback needs {ALLOW_REMOTE_ENV}=1")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help=f"also answer pages addressed to NAME (repeatable; needs {ALLOW_REMOTE_ENV}=1); "
                             f"loopback names always work, other names only when listed here or in {ALLOWED_HOSTS_ENV}")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    try:
        address = listen_address(args.address)
        environ[ALLOWED_HOSTS_ENV] = _allowed_hosts(args.allowed_host, environ)
    except ValueError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    message = refusal(address, environ)
    if message:
        sys.stderr.write(f"error: {message}\n")
        return 2
    if not 1 <= args.port <= 65535:
        sys.stderr.write(f"error: --port={args.port} is invalid: allowed 1 to 65535\n")
        return 2
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", address,
               "--server.port", str(args.port), "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
               # A full gc.collect after every script run holds the GIL ~0.3 s: see config.toml.
               "--runner.postScriptGC", "false"]
    os.execve(sys.executable, command, environ)
    return 0  # not reached: execve replaces the process


if __name__ == "__main__":
    sys.exit(main())
