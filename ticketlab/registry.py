"""A name -> implementation registry: one per extension point (model, dataset, init...)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ticketlab.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered implementation and its one-line description."""

    name: str
    value: T
    description: str

    def describe(self) -> str:
        """``name: description``, or the name alone where there is no description."""
        return f"{self.name}: {self.description}" if self.description else self.name


class Registry(Generic[T]):
    """Maps names to implementations; unknown names raise a :class:`ConfigError`.

    ``kind`` is the singular noun used in error messages ("model", "dataset").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, description: str = "") -> Callable[[T], T]:
        """Decorator that registers ``value`` under ``name``."""

        def decorate(value: T) -> T:
            self.add(name, value, description)
            return value

        return decorate

    def add(self, name: str, value: T, description: str = "") -> None:
        """Register ``value`` under ``name``; a name can be registered once."""
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        if not description:
            doc = getattr(value, "__doc__", None) or ""
            description = doc.strip().splitlines()[0] if doc.strip() else ""
        self._entries[name] = Entry(name, value, description)

    def remove(self, name: str) -> None:
        """Forget ``name`` (an unknown name is a :class:`ConfigError`)."""
        self.entry(name)
        del self._entries[name]

    @contextmanager
    def registered(self, name: str, value: T, description: str = "") -> Iterator[T]:
        """Register ``value`` as ``name`` for the duration of a ``with`` block (tests, notebooks)."""
        self.add(name, value, description)
        try:
            yield value
        finally:
            self.remove(name)

    def get(self, name: str) -> T:
        """The implementation registered as ``name``."""
        return self.entry(name).value

    def entry(self, name: str) -> Entry[T]:
        """The registry entry for ``name`` (implementation and description)."""
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} '{name}'; choose from: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def describe(self) -> str:
        """One ``name: description`` line per entry, in registration order (for help texts)."""
        return describe_entries(self)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def describe_entries(entries: Iterable[Entry[Any]]) -> str:
    """``name: description`` lines (just ``name`` where there is no description)."""
    return "\n".join(entry.describe() for entry in entries)
