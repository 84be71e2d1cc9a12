"""The name -> implementation registry every extension point uses."""

import pytest

from ticketlab.errors import ConfigError
from ticketlab.registry import Registry


def test_registered_adds_for_the_block_only() -> None:
    things: Registry[int] = Registry("thing")
    things.add("one", 1, "the first")
    with things.registered("two", 2, "the second") as value:
        assert value == 2
        assert things.names() == ["one", "two"]
        assert things.entry("two").description == "the second"
    assert things.names() == ["one"]
    with pytest.raises(ConfigError, match="unknown thing 'two'; choose from: one"):
        things.get("two")


def test_registered_removes_even_when_the_block_raises() -> None:
    things: Registry[int] = Registry("thing")
    with pytest.raises(RuntimeError), things.registered("two", 2):
        raise RuntimeError("boom")
    assert "two" not in things


def test_a_name_is_registered_once_and_removing_an_unknown_name_fails() -> None:
    things: Registry[int] = Registry("thing")
    things.add("one", 1)
    with pytest.raises(ValueError, match="already registered"):
        things.add("one", 2)
    with pytest.raises(ConfigError, match="unknown thing"):
        things.remove("two")
