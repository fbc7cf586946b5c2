"""What the latent explorer keeps for the session (#27 items 3 and 8): every input of its widgets, and every result
made on request.

Streamlit drops the state of a widget that a run does not draw (another view, another tool), so each input is
also copied into a dict of our own and put back before its widget is drawn again, as the sidebar does. A result
the user asked for (a loop GIF, a memorisation check, a projection, class means) is kept per generator source
(the live run, a file, an upload) with the step it was made at, until the user asks for another: a live run's
newer weights never make it vanish."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

INPUTS_KEY = "explore.kept_inputs"  # {widget key: value}: the explorer's inputs, whatever the last run drew
RESULTS_KEY = "explore.kept_results"  # {name: Result}


def restore(key: str, default: Any) -> None:
    """Before a widget is drawn: its value from the kept inputs (or the default) when Streamlit dropped it."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(INPUTS_KEY, {}).get(key, default)


def remember(key: str) -> None:
    """After a widget is drawn: keep its value for the session."""
    if key in st.session_state:
        st.session_state.setdefault(INPUTS_KEY, {})[key] = st.session_state[key]


def kept(widget: Callable[..., Any], label: str, *args: Any, key: str, default: Any, **kwargs: Any) -> Any:
    """Draw `widget(label, *args, key=key, **kwargs)` with its value kept across views and tools; returns it.

    The default goes in through session state, never as the widget's own value, so Streamlit never sees both."""
    restore(key, default)
    options = args[0] if args and isinstance(args[0], (list, tuple)) else None
    if options is not None and st.session_state[key] not in options:
        st.session_state[key] = default  # kept for another generator (more classes, other seeds)
    value = widget(label, *args, key=key, **kwargs)
    remember(key)
    return value


def set_input(key: str, value: Any) -> None:
    """Set an input before its widget is drawn (a button's callback, a request from another view)."""
    st.session_state[key] = value
    st.session_state.setdefault(INPUTS_KEY, {})[key] = value


@dataclass(frozen=True)
class Result:
    """Something made on request: for which source (see source_key), at which step, and what it holds."""

    source: tuple
    step: int
    value: Any


def source_key(identity: tuple) -> tuple:
    """The generator's source without its weights' version: ("live", run dir), ("file", path), ("upload", id)."""
    return tuple(identity[:2])


def keep_result(name: str, identity: tuple, step: int, value: Any) -> Result:
    """Keep a result made now for the generator of this identity at this step (replacing the one before)."""
    result = Result(source_key(identity), int(step), value)
    st.session_state.setdefault(RESULTS_KEY, {})[name] = result
    return result


def kept_result(name: str, identity: tuple) -> Result | None:
    """The result kept under this name for this generator's source (any step), or None."""
    result = st.session_state.get(RESULTS_KEY, {}).get(name)
    return result if result is not None and result.source == source_key(identity) else None


def drop_result(name: str) -> None:
    """Forget a kept result (its inputs were found bad)."""
    st.session_state.get(RESULTS_KEY, {}).pop(name, None)


def made_at(result: Result) -> str:
    """"made at step N": the words every kept result carries (the generator may have moved on since)."""
    return f"made at step {result.step}"
