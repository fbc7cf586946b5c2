"""The config's checks: one message per bad field naming the field, the value and what is allowed. Raised at
once by default; collected (every bad field at once) inside `collecting()`, which validation_errors uses."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator

# While collecting() runs, failed checks are gathered here instead of raised (per thread).
_collected: ContextVar[list[tuple[str, str]] | None] = ContextVar("config_errors", default=None)


def check(condition: bool, field_name: str, value: Any, allowed: str) -> None:
    """Raise ValueError naming the field, the value and what is allowed (gather it inside collecting())."""
    if not condition:
        message = f"{field_name}={value!r} is invalid: allowed {allowed}"
        errors = _collected.get()
        if errors is None:
            raise ValueError(message)
        if all(field_name != known for known, _ in errors):  # the first message per field
            errors.append((field_name, message))


@contextlib.contextmanager
def collecting() -> Iterator[list[tuple[str, str]]]:
    """Within the block, failed checks are appended to the yielded list as (field, message) instead of raised."""
    errors: list[tuple[str, str]] = []
    token = _collected.set(errors)
    try:
        yield errors
    finally:
        _collected.reset(token)


def is_int(value: Any) -> bool:
    """An int that is not a bool (JSON's true is not 1 here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def short(value: Any) -> Any:
    """A value for an error message, long sequences cut to a count."""
    return f"<{len(value)} items>" if isinstance(value, (list, tuple)) and len(value) > 4 else value
