"""Plain text inside Streamlit markdown and Plotly labels: names and messages from files and uploads never
become markup, links or HTML."""

from __future__ import annotations

import html
import re
import string

_PUNCTUATION = frozenset(string.punctuation)
# GitHub-flavoured markdown links bare addresses ("http://...", "www...", "a@b.c") even when every
# punctuation mark is escaped; an invisible word joiner after the scheme, "www" or before "@" stops it.
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def _fold(text: object, limit: int) -> str:
    value = " ".join(str(text).split())
    return value[: limit - 1] + "…" if len(value) > limit else value


def plain(text: object, limit: int = 500) -> str:
    """Backslash-escape every ASCII punctuation mark (CommonMark renders each as itself), break bare
    addresses, fold newlines, and cut to `limit` characters: no link, image, code span, directive or HTML
    survives."""
    value = _AUTOLINK.sub(WORD_JOINER, _fold(text, limit))
    return "".join("\\" + char if char in _PUNCTUATION else char for char in value)


def chart_text(text: object, limit: int = 120) -> str:
    """Text for a Plotly trace name, legend or hover label: Plotly renders <b>, <a href>, <br> and the
    like, so every '<', '>' and '&' is written as an entity, which it shows as the character itself."""
    return html.escape(_fold(text, limit), quote=False)
