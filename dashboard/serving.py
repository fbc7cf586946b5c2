"""Where the dashboard may listen, and which Host names it answers: loopback only, unless the user opts in.

Two checks (docs/threat_model.md): the listen address (`refusal`) keeps the server off the network, and the
Host header (`host_refusal`) keeps a web page under another name from reaching it through DNS rebinding
(a name that re-resolves to 127.0.0.1 makes the browser treat the dashboard as that page's own origin).
`HostGuard` applies the Host check to every HTTP request and WebSocket handshake of the App that
dashboard/app.py builds (however it is started); the page applies it again itself before drawing anything.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

ALLOW_REMOTE_ENV = "GAN_WORKBENCH_ALLOW_REMOTE"
ALLOWED_HOSTS_ENV = "GAN_WORKBENCH_ALLOWED_HOSTS"  # comma-separated names, honoured only with the opt-in
DEFAULT_ADDRESS = "127.0.0.1"
WILDCARD_ADDRESSES = ("0.0.0.0", "::")
# A DNS name (labels of letters, digits, hyphens and underscores); IP literals are checked by ipaddress.
_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*")


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for empty (Streamlit then listens everywhere)."""
    if not address:
        return False
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(address: str | None, environ: Mapping[str, str]) -> str | None:
    """Why the page must not be served on this address, or None when it may."""
    if is_loopback(address) or remote_allowed(environ):
        return None
    shown = address or "every interface (no server.address set)"
    return (f"server.address={shown} is refused: GAN Workbench has no login, so it serves only on a loopback "
            f"address (127.0.0.1). Start it with `python -m dashboard` or `make dashboard`, or pass "
            f"--server.address 127.0.0.1. To expose it on purpose, set {ALLOW_REMOTE_ENV}=1 behind an "
            "authenticating proxy or use an SSH tunnel (docs/threat_model.md).")


def remote_allowed(environ: Mapping[str, str]) -> bool:
    """Whether the user opted into serving beyond loopback (GAN_WORKBENCH_ALLOW_REMOTE=1)."""
    return environ.get(ALLOW_REMOTE_ENV) == "1"


def normal_name(name: str) -> str | None:
    """A host name or IP literal as Host headers are compared (lower case, no final dot, IPv6 without
    brackets), or None when it is neither (spaces, a port, a wildcard, a path ...)."""
    name = name.lower()
    name = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name if _NAME.fullmatch(name) else None


def host_name(host_header: str | None) -> str | None:
    """The name a Host header addresses (the port dropped), or None when the header is missing or malformed."""
    if not host_header:
        return None
    try:
        parts = urlsplit(f"//{host_header}")
        _ = parts.port  # a port must be a number from 0 to 65535
    except ValueError:
        return None
    if parts.hostname is None or parts.username is not None or parts.password is not None or parts.path \
            or parts.query or parts.fragment:
        return None
    return normal_name(parts.hostname)


def named_hosts(environ: Mapping[str, str], address: str | None = None) -> frozenset[str]:
    """The names answered besides loopback: none without the opt-in; with it, GAN_WORKBENCH_ALLOWED_HOSTS and
    the address the server listens on, unless that is a wildcard (0.0.0.0 or ::, which names nothing)."""
    if not remote_allowed(environ):
        return frozenset()
    given = [item.strip() for item in environ.get(ALLOWED_HOSTS_ENV, "").split(",") if item.strip()]
    if address and address not in WILDCARD_ADDRESSES:
        given.append(address)
    return frozenset(name for name in map(normal_name, given) if name is not None)


def host_allowed(host_header: str | None, environ: Mapping[str, str], address: str | None = None) -> bool:
    """Whether a request whose Host header is this may be answered (see named_hosts for the opt-in)."""
    name = host_name(host_header)
    return name is not None and (is_loopback(name) or name in named_hosts(environ, address))


def host_refusal(host_header: str | None, environ: Mapping[str, str], address: str | None = None) -> str | None:
    """Why a request with this Host header is refused (one paragraph, plain text), or None when it may be answered."""
    if host_allowed(host_header, environ, address):
        return None
    name = host_name(host_header)
    # Only a well-formed name is repeated back: the page shows this message, and the header is the client's.
    shown = f"host {name}" if name is not None else "this request's host"
    return (f"{shown} is not allowed: GAN Workbench has no login, so it answers only pages addressed to a "
            "loopback name (127.0.0.1, localhost, [::1]); another name may be a web page reaching it through "
            f"DNS rebinding. Open it as http://127.0.0.1:PORT instead. To serve it under a name of your own, set "
            f"{ALLOW_REMOTE_ENV}=1 and name it: python -m dashboard --allowed-host NAME, or "
            f"{ALLOWED_HOSTS_ENV}=NAME,... (docs/threat_model.md).")


class HostGuard:
    """ASGI middleware: every HTTP request and WebSocket handshake whose Host is not allowed gets 403, and
    never reaches the page, its static files, /_stcore/* (the WebSocket included) or the live feed."""

    def __init__(self, app: Callable, environ: Mapping[str, str] | None = None,
                 address: Callable[[], str | None] = lambda: None) -> None:
        self.app, self.environ, self.address = app, environ, address

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        hosts = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key.lower() == b"host"]
        environ = self.environ if self.environ is not None else os.environ
        message = host_refusal(hosts[0] if len(hosts) == 1 else None, environ, self.address())
        if message is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; a close before accept answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
        else:
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": (message + "\n").encode()})


def listen_address(raw: str) -> str:
    """The --address value Streamlit is given: an IP literal (IPv6 without brackets) or a host name;
    ValueError for anything else (a space makes Streamlit die with a resolver traceback)."""
    name = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if name != name.strip() or normal_name(name) is None or (raw != name and ":" not in name):
        raise ValueError(f"--address={raw!r} is invalid: an IP address or host name, without spaces "
                         f"(e.g. {DEFAULT_ADDRESS})")
    return name
