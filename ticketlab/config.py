"""Typed configuration dataclasses: help text per field, canonical JSON and run hashes.

Every concern defines its own frozen dataclass with :func:`option` fields (the help
string lives next to the field, so the CLI generated from it cannot drift). A run's
directory is named by :func:`config_hash`: the SHA-256 of the canonical JSON of the
fields that differ from their defaults, so adding a field with a default never renames
old runs, unless the field is ``always_hashed`` (its default changes what runs compute).
Changing a default renames, on purpose: ``tests/runs/test_run_hashes.py`` pins names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from ticketlab.errors import ConfigError
from ticketlab.registry import Entry

C = TypeVar("C")

# Plain names, or registry entries (names with descriptions: a Registry is one such iterable).
ChoiceList = Iterable[str] | Iterable[Entry[Any]]
Choices = Callable[[], ChoiceList] | ChoiceList | None


def option(
    default: Any,
    help: str,
    *,
    choices: Choices = None,
    flag: str | None = None,
    aliases: tuple[str, ...] = (),
    metavar: str | None = None,
    cli: bool = True,
    strict: bool = True,
    always_hashed: bool = False,
) -> Any:
    """A dataclass field with CLI metadata.

    ``choices``: names, or registry entries (e.g. a :class:`~ticketlab.registry.Registry`),
    or a callable returning either, looked up each time a parser is built so that names
    registered later count too (e.g. ``lambda: SCORES``); with entries, the generated help
    lists every name with its description, so the help string must not type the names.
    ``flag`` overrides the default ``--field-name``; ``aliases`` are further flags for the
    same field; ``cli=False`` hides the field from the generated parser (a command then
    sets it some other way); ``strict=False`` lists the choices in the help without making
    argparse enforce them (the config then checks its values itself). A tuple-valued field
    becomes a repeatable flag. ``always_hashed`` names the run directory by the field even
    at its default: for a field added with a default that changes what a run computes, so
    that directories written before it are not taken for runs of the new default.
    """
    metadata = {
        "help": help, "choices": choices, "flag": flag, "aliases": tuple(aliases), "metavar": metavar, "cli": cli,
        "strict": strict, "always_hashed": always_hashed,
    }
    if isinstance(default, (list, dict, set)):
        raise TypeError("configs are frozen: use a tuple or a string, not a mutable default")
    return dataclasses.field(default=default, metadata=metadata)


def choices_of(field: dataclasses.Field) -> list[str] | None:
    """The allowed values of a field (names), resolving a lazy callable."""
    found = _resolved_choices(field)
    if found is None:
        return None
    return [item.name if isinstance(item, Entry) else item for item in found]


def choice_entries(field: dataclasses.Field) -> list[Entry[Any]] | None:
    """The allowed values with their descriptions, when they come from a registry; else None."""
    found = _resolved_choices(field)
    if found is None or not all(isinstance(item, Entry) for item in found):
        return None
    return [item for item in found if isinstance(item, Entry)]


def _resolved_choices(field: dataclasses.Field) -> list[str | Entry[Any]] | None:
    found = field.metadata.get("choices")
    if found is None:
        return None
    return list(found() if callable(found) else found)


def check_choice(value: str, field_name: str, allowed: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{field_name} must be one of {', '.join(allowed)}; got '{value}'")


def to_dict(config: Any) -> dict[str, Any]:
    """All fields of a (nested) config dataclass as plain JSON-able values."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        out[field.name] = _plain(getattr(config, field.name))
    return out


def non_default_dict(config: Any) -> dict[str, Any]:
    """The fields that differ from their defaults; nested configs are recursed into."""
    out: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            inner = non_default_dict(value)
            if inner:
                out[field.name] = inner
            continue
        default = _default_of(field)
        if _plain(value) != _plain(default) or field.metadata.get("always_hashed"):
            out[field.name] = _plain(value)
    return out


def canonical_json(obj: Any) -> str:
    """Sorted keys, no whitespace: the same object always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: Any, kind: str) -> str:
    """16 hex digits naming the run directory of ``config`` for a run of ``kind``."""
    payload = {"kind": kind, "config": non_default_dict(config)}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]


def from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build ``cls`` from a (possibly partial) dict, as written by :func:`to_dict`.

    Unknown keys raise a :class:`ConfigError` naming them; missing keys take defaults.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = from_dict(hint, value)  # type: ignore[arg-type]
        elif _is_tuple(hint) and isinstance(value, list):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _is_tuple(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_tuple(arg) for arg in typing.get_args(hint))
    return False


def _default_of(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def leaf_fields(cls: type) -> dict[str, tuple[str, ...]]:
    """Every CLI-visible leaf field of a (nested) config class: name -> path of field names."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[str, ...]] = {}
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        if dataclasses.is_dataclass(hint):
            for name, path in leaf_fields(hint).items():  # type: ignore[arg-type]
                out[name] = (field.name, *path)
        elif field.metadata.get("cli"):
            out[field.name] = (field.name,)
    return out


def nest_values(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Turn flat ``{leaf name: value}`` into the nested dict :func:`from_dict` reads.

    Names may use dashes or underscores; an unknown name raises a :class:`ConfigError`.
    """
    leaves = leaf_fields(cls)
    nested: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in leaves:
            raise ConfigError(f"unknown option '{key}'; options are: {', '.join(sorted(leaves))}")
        *parents, leaf = leaves[name]
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested
