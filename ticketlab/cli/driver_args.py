"""Comma-list options of the experiment drivers (``--seeds 0,1,2``, ``--models lenet300,lenet5``).

The drivers under experiments/ are plain argparse scripts; these turn a bad list into the
parser's own one-line error (exit status 2) instead of a traceback or an empty run.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable


def comma_ints(parser: argparse.ArgumentParser, option: str, text: str) -> tuple[int, ...]:
    """``"0,1"`` as (0, 1); a parser error for anything else or nothing."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        parser.error(f"{option} must be comma-separated integers, got {text!r}")
    if not values:
        parser.error(f"{option} names nothing")
    return values


def comma_names(parser: argparse.ArgumentParser, option: str, text: str, known: Iterable[str]) -> list[str]:
    """``"a,b"`` as ["a", "b"], every name one of ``known``; a parser error for an unknown name or nothing."""
    choices = list(known)
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in choices]
    if unknown:
        parser.error(f"{option}: unknown {unknown[0]} (choose from {', '.join(choices)})")
    if not names:
        parser.error(f"{option} names nothing")
    return names
