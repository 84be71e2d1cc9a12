"""The experiment drivers' comma-list options: values, and one-line parser errors (exit 2)."""

from __future__ import annotations

import argparse

import pytest

from ticketlab.cli.driver_args import comma_ints, comma_names


def parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="driver")


def test_values() -> None:
    assert comma_ints(parser(), "--seeds", "0,1, 2,") == (0, 1, 2)
    assert comma_names(parser(), "--models", "b,a", ["a", "b", "c"]) == ["b", "a"]


@pytest.mark.parametrize("call, message", [
    (lambda p: comma_ints(p, "--seeds", "0,x"), "--seeds must be comma-separated integers, got '0,x'"),
    (lambda p: comma_ints(p, "--seeds", " , "), "--seeds names nothing"),
    (lambda p: comma_names(p, "--models", "a,z", ["a", "b"]), "--models: unknown z (choose from a, b)"),
    (lambda p: comma_names(p, "--models", ",", ["a"]), "--models names nothing"),
])
def test_bad_lists_are_one_line_errors(call, message: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        call(parser())
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"driver: error: {message}"
