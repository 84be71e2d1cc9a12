"""Ticket checks of a sparse run: its final mask retrained as a fixed mask, one ingredient chosen.

A branch gets the run's final mask and its weights at the rewind point (the
initialisation by default) and returns the mask and initial weights it trains from, as a
lottery's branches do (:mod:`ticketlab.tickets.branches`, whose ablations are reused).
"""

from __future__ import annotations

from typing import Any

from ticketlab.masks import Mask
from ticketlab.registry import Registry
from ticketlab.tickets.branches import Branch, BranchInput, random_prune, random_reinit


def rewind(given: BranchInput) -> tuple[Mask, dict[str, Any]]:
    """Is the mask a winning ticket? The final mask, fixed, from the run's own rewind weights."""
    return given.mask, given.rewind_state


SPARSE_BRANCHES: Registry[Branch] = Registry("sparse-training branch")
SPARSE_BRANCHES.add("rewind", rewind, "the final mask, fixed, trained from the run's weights at --rewind "
                    "(its initialisation by default): is it a winning ticket?")
SPARSE_BRANCHES.add("random-prune", random_prune, "a random mask with the final mask's per-layer kept counts, "
                    "the rewind weights")
SPARSE_BRANCHES.add("random-reinit", random_reinit, "the final mask, freshly initialised weights")


def parse_sparse_branches(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate a comma list (or a list) of branch names; unknown names raise a ConfigError."""
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(SPARSE_BRANCHES.entry(n).name for n in names if n))
