"""Plain text inside Streamlit markdown: names and messages from files and uploads never become markup."""

from __future__ import annotations

import string

_PUNCTUATION = frozenset(string.punctuation)


def plain(text: object, limit: int = 500) -> str:
    """Backslash-escape every ASCII punctuation mark (CommonMark renders each as itself), fold
    newlines, and cut to `limit` characters: no link, image, code span, directive or HTML survives."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return "".join("\\" + char if char in _PUNCTUATION else char for char in value)
