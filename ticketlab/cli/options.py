"""Command-line options generated from config dataclasses, so flags and fields never drift.

Each :func:`ticketlab.config.option` field becomes ``--field-name`` with its help text,
choices and default; :func:`config_from_args` builds the dataclass back from the parsed
namespace (the dataclass validates itself and raises a one-line ConfigError).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

from ticketlab.config import choices_of

C = TypeVar("C")


def add_config_arguments(group: Any, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Add one option per CLI-visible field of ``cls`` to a parser or argument group."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or not field.metadata.get("cli", False):
            continue
        flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
        help_text = _help(field.metadata["help"], field.default)
        base = _base_type(hints[field.name])
        kwargs: dict[str, Any] = {"dest": field.name, "default": field.default, "help": help_text}
        if base is bool:
            action = argparse.BooleanOptionalAction if field.default else "store_true"
            group.add_argument(flag, action=action, **kwargs)
            continue
        choices = choices_of(field)
        if choices is not None:
            kwargs["choices"] = choices
        if field.metadata.get("metavar"):
            kwargs["metavar"] = field.metadata["metavar"]
        group.add_argument(flag, type=base, **kwargs)


def config_from_args(cls: type[C], args: argparse.Namespace, **overrides: Any) -> C:
    """Build ``cls`` from the namespace (fields absent from it keep their defaults)."""
    kwargs = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    kwargs.update(overrides)
    return cls(**kwargs)  # type: ignore[call-arg]


def _help(text: str, default: Any) -> str:
    text = text.replace("%", "%%")
    if "default:" in text or isinstance(default, bool):
        return text
    shown = "none" if default is None else ("''" if default == "" else default)
    return f"{text} (default: {shown})"


def _base_type(hint: Any) -> type:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint
