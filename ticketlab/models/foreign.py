"""Your own model: ``--model package.module:factory`` or ``--model path/to/file.py:factory``.

A *spec* names an importable callable that returns an ``nn.Module``. The factory gets
``input_shape`` ``(C, H, W)`` and ``num_classes`` when its signature has parameters of
those names, plus every ``--model-arg key=value`` as a keyword argument. Values are typed
by :func:`ast.literal_eval` (ints, floats, bools, quoted strings), anything else is a
string; model args are kept as a sorted tuple of canonical ``"key=value"`` strings so that
equal arguments hash equally. A file spec is resolved against the current directory.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from ticketlab.errors import ConfigError

ArgValue = int | float | bool | str
RESERVED_ARGS = ("input_shape", "num_classes")


def is_foreign(name: str) -> bool:
    """Whether ``name`` is a factory spec (``module:factory`` or ``file.py:factory``), not a registered name."""
    return ":" in name


def _split(spec: str) -> tuple[str, str]:
    where, _, attribute = spec.rpartition(":")
    if not where or not attribute or not all(part.isidentifier() for part in attribute.split(".")):
        raise ConfigError(f"--model {spec}: expected package.module:factory or path/to/file.py:factory")
    return where, attribute


def _is_file(where: str) -> bool:
    return where.endswith(".py") or "/" in where or "\\" in where


def source_path(spec: str) -> Path | None:
    """The file whose bytes define the factory of ``spec`` (None for a module without a source file)."""
    where, _ = _split(spec)
    if _is_file(where):
        return Path(where).resolve()
    found = inspect.getsourcefile(_import_module(spec, where))
    return Path(found).resolve() if found else None


def source_record(spec: str) -> dict[str, str | None]:
    """``{"path", "sha256"}`` of the factory's source file, for config.json (not for the hash)."""
    path = source_path(spec)
    if path is None or not path.is_file():
        return {"path": None if path is None else str(path), "sha256": None}
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _import_module(spec: str, where: str) -> ModuleType:
    try:
        return importlib.import_module(where)
    except Exception as exc:  # noqa: BLE001 -- any failure of the user's import is one line
        raise ConfigError(f"--model {spec}: cannot import {where} ({type(exc).__name__}: {_first_line(exc)})") from None


def _load_file(spec: str, where: str) -> ModuleType:
    path = Path(where).resolve()
    if not path.is_file():
        raise ConfigError(f"--model {spec}: no such file {path}")
    data = path.read_bytes()
    name = "ticketlab_model_" + hashlib.sha256(str(path).encode() + data).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"--model {spec}: cannot load {path} as Python")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # so that classes defined there can be pickled by name
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001
        del sys.modules[name]
        raise ConfigError(f"--model {spec}: {path} failed to load ({type(exc).__name__}: {_first_line(exc)})") from None
    return module


def load_factory(spec: str) -> Callable[..., Any]:
    """The callable ``spec`` names; one-line :class:`ConfigError` when it cannot be found."""
    where, attribute = _split(spec)
    found: Any = _load_file(spec, where) if _is_file(where) else _import_module(spec, where)
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigError(f"--model {spec}: {where} has no attribute '{attribute}'")
        found = getattr(found, part)
    if not callable(found):
        raise ConfigError(f"--model {spec}: '{attribute}' is not callable")
    return found


def factory_spec(factory: Callable[..., Any]) -> str:
    """The spec naming ``factory`` (a module-level function or class), for ``ModelConfig(model=...)``.

    ``module:name`` when its module is importable by name, ``path/to/file.py:name`` for a
    script's ``__main__``; functions defined inside other functions have no spec.
    """
    qualname = getattr(factory, "__qualname__", "")
    module = getattr(factory, "__module__", None)
    if not qualname or "<" in qualname or not module:
        raise ConfigError(f"{factory!r} has no importable name: define the factory at module level")
    if module == "__main__" or module.startswith("ticketlab_model_"):
        path = inspect.getsourcefile(factory)
        if path is None:
            raise ConfigError(f"{factory!r} has no source file to name it by")
        return f"{Path(path).resolve()}:{qualname}"
    return f"{module}:{qualname}"


def parse_value(text: str) -> ArgValue:
    """``text`` typed by :func:`ast.literal_eval` (int, float, bool, str), else the string itself."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if not isinstance(value, (int, float, str)):  # bool is an int
        raise ConfigError(f"--model-arg value {text!r}: only ints, floats, bools and strings are allowed")
    return value


def format_arg(key: str, value: ArgValue) -> str:
    """The canonical ``key=value`` text: parsing it back gives ``value`` exactly."""
    if isinstance(value, str):
        plain = value == value.strip() and value != "" and not _is_literal(value)
        return f"{key}={value if plain else repr(value)}"
    return f"{key}={value!r}"


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def canonical_model_args(args: Iterable[str] | Mapping[str, ArgValue] | str | None) -> tuple[str, ...]:
    """Validate ``key=value`` strings (or a mapping) and return them canonical and sorted by key."""
    if args is None:
        return ()
    if isinstance(args, str):
        args = (args,)
    items: list[tuple[str, ArgValue]] = []
    if isinstance(args, Mapping):
        items = [(str(k), v) for k, v in args.items()]
    else:
        for text in args:
            key, sep, value = str(text).partition("=")
            if not sep:
                raise ConfigError(f"--model-arg {text!r}: expected key=value")
            items.append((key.strip(), parse_value(value.strip())))
    seen: set[str] = set()
    for key, value in items:
        if not key.isidentifier():
            raise ConfigError(f"--model-arg {key!r}: the key must be a Python identifier")
        if key in RESERVED_ARGS:
            raise ConfigError(f"--model-arg {key}: ticketlab passes {key} itself")
        if key in seen:
            raise ConfigError(f"--model-arg {key} is given twice")
        if not isinstance(value, (int, float, str)):
            raise ConfigError(f"--model-arg {key}: only ints, floats, bools and strings are allowed")
        seen.add(key)
    return tuple(format_arg(k, v) for k, v in sorted(items))


def model_kwargs(args: Iterable[str]) -> dict[str, ArgValue]:
    """The keyword arguments of canonical ``key=value`` strings."""
    out: dict[str, ArgValue] = {}
    for text in args:
        key, _, value = text.partition("=")
        out[key] = parse_value(value)
    return out


def factory_arguments(factory: Callable[..., Any], spec: str, input_shape: tuple[int, int, int],
                      num_classes: int, args: Iterable[str]) -> dict[str, Any]:
    """The keyword arguments for ``factory``: input_shape/num_classes where named, then the model args."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    kwargs: dict[str, Any] = {}
    if "input_shape" in parameters:
        kwargs["input_shape"] = tuple(input_shape)
    if "num_classes" in parameters:
        kwargs["num_classes"] = num_classes
    for key, value in model_kwargs(args).items():
        if key not in parameters and not takes_any:
            accepted = ", ".join(n for n in parameters if n not in RESERVED_ARGS) or "none"
            raise ConfigError(f"--model {spec} has no parameter '{key}' (it takes: {accepted})")
        kwargs[key] = value
    return kwargs


def call_factory(spec: str, input_shape: tuple[int, int, int], num_classes: int,
                 args: Iterable[str] = ()) -> nn.Module:
    """Call the factory of ``spec``; one-line :class:`ConfigError` when it raises or returns no nn.Module."""
    factory = load_factory(spec)
    kwargs = factory_arguments(factory, spec, input_shape, num_classes, args)
    try:
        model = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 -- the user's code: its failure is one line
        raise ConfigError(f"--model {spec}: the factory raised {type(exc).__name__}: {_first_line(exc)}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--model {spec}: the factory returned {type(model).__name__}, not an nn.Module")
    return model


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
