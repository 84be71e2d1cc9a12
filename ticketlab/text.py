"""Plain-text tables and percentages for terminals and Markdown files.

A leaf module (it imports nothing from ticketlab), so every layer can print a table
without importing ``ticketlab.report``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

_NUMBER = re.compile(r"^-?[0-9.,]+(e-?[0-9]+)?%?$|^-$")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, markdown: bool = False) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned.

    With ``markdown=True`` the result is a GitHub-flavoured Markdown table.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return ("| " + " | ".join(parts) + " |") if markdown else "  ".join(parts).rstrip()

    if markdown:
        rule = "|" + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric)) + "|"
    else:
        rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(row) for row in cells)])


def percent(fraction: float | None, digits: int = 2) -> str:
    """A fraction in [0, 1] as a percentage string; None as "-"."""
    return "-" if fraction is None else f"{100 * fraction:.{digits}f}%"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _is_number(value: object) -> bool:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return True
    return isinstance(value, str) and _NUMBER.match(value) is not None


def entry_lines(entries: Iterable[Any], width: int = 88) -> str:
    """``  name: description`` per registry entry, wrapped under its name (for help texts)."""
    return "\n".join(
        textwrap.fill(f"{entry.name}: {entry.description}" if entry.description else entry.name, width=width,
                      initial_indent="  ", subsequent_indent="      ")
        for entry in entries
    )
