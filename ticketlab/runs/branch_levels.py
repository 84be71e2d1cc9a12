"""Which levels of a lottery its branches run at: every pruned level, some, or the best one.

A branch replays a level with one ingredient changed; a study that compares only the
chosen ticket with its ablation (seed 004: the best level against random pruning at its
densities) needs the branch at that level alone, a fraction of the cost of every level.
``best`` is the pruned level with the best validation accuracy (ties: the sparser one),
known only once the trunk has finished.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ticketlab.errors import ConfigError

BEST = "best"
BranchLevels = tuple[int, ...] | str | None  # None: every pruned level; "best"; or the levels themselves

BRANCH_LEVELS_HELP = ("levels at which the branches run: a comma list such as 4,8, or 'best' (the pruned level "
                      "with the best validation accuracy, ties to the sparser; needs --val), found once the trunk "
                      "is done (default: every pruned level)")


def parse_branch_levels(value: Any) -> BranchLevels:
    """None or "" (every level), "best", "4,8" or a sequence of ints -> the canonical spec."""
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, str):
        if value.strip() == BEST:
            return BEST
        parts = [p.strip() for p in value.split(",")]
        if not all(p.isdigit() for p in parts):
            raise ConfigError(f"--branch-levels {value!r}: give 'best' or a comma list of levels such as 4,8")
        value = [int(p) for p in parts]
    if isinstance(value, bool) or not isinstance(value, Iterable) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"--branch-levels {value!r}: give 'best' or a list of levels")
    return tuple(sorted(set(value)))


def fixed_levels(spec: BranchLevels, levels: int) -> tuple[int, ...]:
    """The levels ``spec`` names before the trunk runs (none for ``best``); a ConfigError for a level
    that is not a pruned level of a lottery with ``levels`` levels."""
    if spec is None:
        return tuple(range(1, levels + 1))
    if spec == BEST:
        return ()
    outside = [v for v in spec if not 1 <= v <= levels]
    if outside:
        raise ConfigError(f"--branch-levels {outside[0]}: branches run at pruned levels, 1 to {levels}")
    return tuple(spec)


def best_level(rows: Sequence[tuple[int, float | None]]) -> int:
    """The pruned level with the best validation accuracy, ties to the sparser one, from (level, val) pairs."""
    pruned = [(level, val) for level, val in rows if level > 0]
    if not pruned:
        raise ConfigError("--branch-levels best: the lottery has no pruned level")
    if any(val is None for _, val in pruned):
        raise ConfigError("--branch-levels best needs validation accuracies: hold out a split with --val")
    return max(pruned, key=lambda p: (p[1], p[0]))[0]


def check_best_possible(spec: BranchLevels, val: int, levels: int) -> None:
    """Refuse ``best`` before any training when there is no validation split or no pruned level."""
    if spec != BEST:
        return
    if val <= 0:
        raise ConfigError("--branch-levels best needs validation accuracies: hold out a split with --val")
    if levels < 1:
        raise ConfigError("--branch-levels best: the lottery has no pruned level (--levels 0)")
