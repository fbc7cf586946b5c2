"""Config fields by name: the live fields a run may change while it trains, parsing command-line text into a
field's type, and every invalid field of a config dict at once."""

from __future__ import annotations

import ast
import dataclasses
import functools
from pathlib import Path
from typing import Any

from gan_core.config import schema
from gan_core.config.schema import SECTIONS, RunConfig, resolve_field
from gan_core.config.validation import collecting

# The fields a live run may change (TrainingSession.update, the sidebar's Apply), by their dotted paths.
LIVE_FIELDS = ("optimizer.lr_d", "optimizer.lr_g", "optimizer.beta1", "optimizer.beta2",
               "optimizer.d_steps_per_g_step", "loss.loss", "loss.label_smoothing")


def with_live_changes(config: RunConfig, changes: dict[str, Any]) -> RunConfig:
    """config with live fields (dotted paths) changed and re-validated; any other name is a ValueError naming it."""
    unknown = sorted(set(changes) - set(LIVE_FIELDS))
    if unknown:
        raise ValueError(f"cannot change {', '.join(unknown)} during a run: allowed {', '.join(LIVE_FIELDS)}")
    return config.with_changes(changes)


def live_values(config: RunConfig) -> dict[str, Any]:
    """The current value of every live field, by dotted path."""
    return {path: field_value(config, path) for path in LIVE_FIELDS}


def field_value(config: RunConfig, path: str) -> Any:
    """The value of a field named by its dotted path ('optimizer.lr_g') or the run's 'name'."""
    section, name = resolve_field(path)
    return getattr(getattr(config, section) if section else config, name)


def live_field(name: str) -> str | None:
    """A live field's dotted path from a name an event may hold: dotted, or bare as runs recorded before the
    paths were dotted ('lr_g'); None for a name that is not a live field."""
    try:
        path = dotted_field(name)
    except ValueError:
        return None
    return path if path in LIVE_FIELDS else None


def validation_errors(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Every invalid field of a config dict (as to_dict writes it) at once: [(dotted field, message)].

    The messages are those the raising API gives; [] when RunConfig.from_dict(values) would succeed.
    A structural problem (unknown key, a section that is not an object) is reported with field "".
    """
    with collecting() as errors:
        try:
            RunConfig.from_dict(values)  # with collection on, no check raises: the objects are discarded
        except (ValueError, TypeError) as error:
            errors.append(("", str(error)))
    return errors


def dotted_field(key: str) -> str:
    """A field's full dotted name ('lr_g' -> 'optimizer.lr_g'); ValueError naming an unknown field."""
    section, name = resolve_field(key)
    return f"{section}.{name}" if section else name


def field_type(key: str) -> type:
    """The Python type of a config field's default value, for parsing text such as --set values."""
    section, name = resolve_field(key)
    owner = RunConfig() if not section else getattr(RunConfig(), section)
    return type(getattr(owner, name))


def parse_value(key: str, text: str) -> Any:
    """Parse a command-line string into the type of the named field, or raise ValueError naming it."""
    kind = field_type(key)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return lowered in ("true", "1", "yes")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ValueError(f"{key}={text!r} is invalid: expected a {kind.__name__}") from None
    return text


def section_fields() -> list[str]:
    """Every field of every config section by dotted path, in the schema's order ('data.name', ...)."""
    return [f"{section}.{item.name}" for section, kind in SECTIONS.items() for item in dataclasses.fields(kind)]


@functools.lru_cache(maxsize=1)
def field_help() -> dict[str, str]:
    """Each section field's help text, by dotted path: its docstring in config/schema.py (the string right
    below the field), folded to one paragraph. Read once from the source, so a field's help is written once."""
    return field_docstrings(Path(schema.__file__).read_text(encoding="utf-8"),
                            {kind.__name__: section for section, kind in SECTIONS.items()})


def field_docstrings(source: str, sections: dict[str, str]) -> dict[str, str]:
    """{"section.field": docstring} of the dataclasses named in `sections` (class name -> section) in source."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.ClassDef) and node.name in sections):
            continue
        for item, following in zip(node.body, node.body[1:]):
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) \
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) \
                    and isinstance(following.value.value, str):
                found[f"{sections[node.name]}.{item.target.id}"] = " ".join(following.value.value.split())
    return found
