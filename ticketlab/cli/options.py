"""Command-line options generated from config dataclasses, so flags and fields never drift.

Each :func:`ticketlab.config.option` field becomes ``--field-name`` with its help text,
choices and default; :func:`ticketlab.cli.run_commands.config_from_namespace` builds the
config back from the parsed namespace (the dataclass validates itself and raises a
one-line ConfigError).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

from ticketlab.config import choice_entries, choices_of
from ticketlab.registry import Entry


def add_config_arguments(group: Any, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one option per CLI-visible field of ``cls`` to a parser or argument group."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or not field.metadata.get("cli", False):
            continue
        flags = [field.metadata.get("flag") or "--" + field.name.replace("_", "-"), *field.metadata.get("aliases", ())]
        help_text = _help(field.metadata["help"], field.default, choice_entries(field))
        base = _base_type(hints[field.name])
        kwargs: dict[str, Any] = {"dest": field.name, "default": field.default, "help": help_text}
        if base is bool:
            action = argparse.BooleanOptionalAction if field.default else "store_true"
            group.add_argument(*flags, action=action, **kwargs)
            continue
        if typing.get_origin(base) is tuple:
            # Repeatable: each use appends one item (the config canonicalises the tuple).
            group.add_argument(*flags, action="append", type=str, metavar=field.metadata.get("metavar"),
                               **{**kwargs, "default": list(field.default)})
            continue
        choices = choices_of(field)
        if choices is not None and field.metadata.get("strict", True):
            kwargs["choices"] = choices
        if field.metadata.get("metavar"):
            kwargs["metavar"] = field.metadata["metavar"]
        group.add_argument(*flags, type=base, **kwargs)


def _help(text: str, default: Any, entries: list[Entry[Any]] | None = None) -> str:
    """The field's help, then its registry's names with their descriptions, then the default."""
    states_default = "default:" in text
    if entries:
        # Generated from the registry, so a newly registered name is documented too.
        text += " -- " + "; ".join(entry.describe() for entry in entries)
    text = text.replace("%", "%%")  # argparse %-formats help strings
    if states_default or isinstance(default, bool):
        return text
    shown = "none" if default is None else ("''" if default == "" else default)
    return f"{text} (default: {shown})"


def _base_type(hint: Any) -> type:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint
