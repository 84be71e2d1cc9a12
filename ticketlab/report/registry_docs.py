"""Lists of names in the README, generated from the registries so they cannot go stale.

A block runs from ``<!-- registry:NAME -->`` to ``<!-- /registry:NAME -->``. Markers on one
line hold a comma list of the names (for table cells and prose); markers on lines of their
own hold one ``- `name`: description`` line per entry, indented like the opening marker.
``python -m ticketlab.report.registry_docs README.md`` (or ``ticketlab catalog --readme
README.md``) rewrites the blocks; ``--check`` only says whether they are current.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.data import DATASETS
from ticketlab.data.corruptions import CORRUPTIONS
from ticketlab.errors import ConfigError
from ticketlab.models import MODELS
from ticketlab.models.init import INITS
from ticketlab.pruning import QUOTAS, SCORES
from ticketlab.pruning.structures import STRUCTURES
from ticketlab.registry import Entry
from ticketlab.sparse.branches import SPARSE_BRANCHES
from ticketlab.sparse.methods import SPARSE_METHODS
from ticketlab.strong.construct import CONSTRUCTIONS
from ticketlab.strong.subset_sum import SOLVERS
from ticketlab.tickets import BRANCHES, data_free_scores

# Block name -> its entries, read when a block is rendered (later registrations count).
SOURCES: dict[str, Callable[[], Iterable[Entry[Any]]]] = {
    "scores": lambda: SCORES,
    "imp-scores": data_free_scores,
    "quotas": lambda: QUOTAS,
    "models": lambda: MODELS,
    "inits": lambda: INITS,
    "datasets": lambda: DATASETS,
    "corruptions": lambda: CORRUPTIONS,
    "branches": lambda: BRANCHES,
    "constructions": lambda: CONSTRUCTIONS,
    "solvers": lambda: SOLVERS,
    "sparse-methods": lambda: SPARSE_METHODS,
    "sparse-branches": lambda: SPARSE_BRANCHES,
    "structures": lambda: STRUCTURES,
}

_BLOCK = re.compile(r"<!-- registry:(?P<name>[\w-]+) -->(?P<body>.*?)<!-- /registry:(?P=name) -->", re.DOTALL)
_OPENING = re.compile(r"<!-- registry:([\w-]+) -->")


def render_block(name: str, *, inline: bool, indent: str = "") -> str:
    """The text between the markers of block ``name``."""
    if name not in SOURCES:
        raise ConfigError(f"unknown registry block '{name}'; known: {', '.join(SOURCES)}")
    entries = list(SOURCES[name]())
    if inline:
        return ", ".join(entry.name for entry in entries)
    lines = [f"{indent}- `{entry.name}`" + (f": {entry.description}" if entry.description else "") for entry in entries]
    return "\n" + "\n".join(lines) + "\n" + indent


def render_text(text: str) -> str:
    """``text`` with every registry block regenerated; an unclosed block is a ConfigError."""
    closed = {match.start() for match in _BLOCK.finditer(text)}
    for opening in _OPENING.finditer(text):
        if opening.start() not in closed:
            raise ConfigError(f"<!-- registry:{opening.group(1)} --> has no <!-- /registry:{opening.group(1)} -->")

    def regenerate(match: re.Match[str]) -> str:
        name = match.group("name")
        line_start = text.rfind("\n", 0, match.start()) + 1
        indent = re.match(r"[ \t]*", text[line_start:match.start()])
        inline = "\n" not in match.group("body")
        body = render_block(name, inline=inline, indent=indent.group(0) if indent else "")
        return f"<!-- registry:{name} -->{body}<!-- /registry:{name} -->"

    return _BLOCK.sub(regenerate, text)


def update_file(path: str | Path, *, check: bool = False) -> bool:
    """Regenerate the blocks of ``path`` (unless ``check``); True when they were out of date."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    fresh = render_text(text)
    if fresh != text and not check:
        atomic_write_text(path, fresh)
    return fresh != text


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ticketlab.report.registry_docs FILE... [--check]``: 1 when --check finds stale blocks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="Markdown files with registry blocks")
    parser.add_argument("--check", action="store_true", help="only report stale blocks (exit status 1)")
    args = parser.parse_args(argv)
    try:
        stale = [str(f) for f in args.files if update_file(f, check=args.check)]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = "out of date" if args.check else "rewritten"
    for name in stale:
        print(f"{name}: registry blocks {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
