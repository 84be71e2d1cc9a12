"""Help generated from registries: a field names its registry and --help lists it, lazily."""

from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass

import pytest

from ticketlab.cli.options import add_config_arguments
from ticketlab.cli.run_commands import config_from_namespace
from ticketlab.config import choice_entries, choices_of, option
from ticketlab.pruning import QUOTAS, SCORES, PruneConfig
from ticketlab.registry import Registry
from ticketlab.strong.anneal import AnnealConfig
from ticketlab.tickets import LotteryConfig

THINGS: Registry[int] = Registry("thing")
THINGS.add("one", 1, "the first, 100% sure")
THINGS.add("two", 2, "the second")


@dataclass(frozen=True)
class Example:
    """A config with a registry-backed field, a plain-names field and an alias."""

    thing: str = option("one", "which thing", choices=lambda: THINGS, aliases=("--item",))
    direct: str = option("two", "a registry given as it is", choices=THINGS)
    plain: str = option("a", "plain names", choices=lambda: ["a", "b"])


def help_of(cls: type) -> str:
    parser = argparse.ArgumentParser(prog="x")
    add_config_arguments(parser, cls)
    return " ".join(parser.format_help().split())


def test_registry_describe_by_hand() -> None:
    assert THINGS.describe() == "one: the first, 100% sure\ntwo: the second"


def test_registry_choices_list_names_with_descriptions_and_the_default() -> None:
    text = help_of(Example)
    assert "which thing -- one: the first, 100% sure; two: the second (default: one)" in text
    assert "a registry given as it is -- one: the first, 100% sure; two: the second (default: two)" in text
    assert "plain names (default: a)" in text  # plain names have no descriptions to list


def test_names_registered_later_are_offered() -> None:
    with THINGS.registered("three", 3, "added after the class"):
        assert choices_of(dataclasses.fields(Example)[0]) == ["one", "two", "three"]
        assert "three: added after the class" in help_of(Example)
    assert "three" not in help_of(Example)
    assert choice_entries(dataclasses.fields(Example)[2]) is None


def test_alias_flags_set_the_same_field() -> None:
    parser = argparse.ArgumentParser(prog="x")
    add_config_arguments(parser, Example)
    for flag in ("--thing", "--item"):
        assert config_from_namespace(Example, parser.parse_args([flag, "two"])).thing == "two"
    with pytest.raises(SystemExit):
        parser.parse_args(["--item", "four"])


def test_prune_help_lists_every_registered_score_and_quota(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("prune", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    for entry in [*SCORES, *QUOTAS]:
        assert f"{entry.name}: {entry.description}" in text


@pytest.mark.parametrize("cls", [PruneConfig, LotteryConfig, AnnealConfig])
def test_registry_fields_do_not_type_their_names(cls: type) -> None:
    for field in dataclasses.fields(cls):
        entries = choice_entries(field)
        if entries is None:
            continue
        text = field.metadata["help"]
        typed = {e.name for e in entries if re.search(rf"(?<![\w-]){re.escape(e.name)}(?![\w-])", text)}
        # The scope fields explain that uniform is stored as layerwise; nothing else is typed.
        assert typed <= {"uniform", "layerwise"}, (cls.__name__, field.name, typed)
