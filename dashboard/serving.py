"""Where the dashboard may listen: loopback only, unless the user opts in (docs/threat_model.md)."""

from __future__ import annotations

import ipaddress
from typing import Mapping

ALLOW_REMOTE_ENV = "GAN_WORKBENCH_ALLOW_REMOTE"
DEFAULT_ADDRESS = "127.0.0.1"


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for empty (Streamlit then listens everywhere)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(address: str | None, environ: Mapping[str, str]) -> str | None:
    """Why the page must not be served on this address, or None when it may."""
    if is_loopback(address) or environ.get(ALLOW_REMOTE_ENV) == "1":
        return None
    shown = address or "every interface (no server.address set)"
    return (f"server.address={shown} is refused: GAN Workbench has no login, so it serves only on a loopback "
            f"address (127.0.0.1). Start it with `python -m dashboard` or `make dashboard`, or pass "
            f"--server.address 127.0.0.1. To expose it on purpose, set {ALLOW_REMOTE_ENV}=1 behind an "
            "authenticating proxy or use an SSH tunnel (docs/threat_model.md).")
