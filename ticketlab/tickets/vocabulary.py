"""What IMP may rank by and how it may share the kept weights, read from the registries.

IMP prunes trained weights and sees no scoring batches, so it takes every registered
score that needs no data. Its scope is any registered quota; ``layerwise`` is the name
runs have always stored for the ``uniform`` quota, and ``uniform`` is stored as
``layerwise`` so that one run has one directory name.
"""

from __future__ import annotations

from ticketlab.config import check_choice
from ticketlab.errors import ConfigError
from ticketlab.pruning.quotas import QUOTAS, Quota
from ticketlab.pruning.scores import SCORES, ScoreMethod
from ticketlab.registry import Entry

# Quotas whose runs are stored under another scope name (run hashes depend on it).
STORED_AS = {"uniform": "layerwise"}


def scope_choices() -> list[Entry[Quota]]:
    """Every registered quota, each stored name right after the quota it stands for."""
    out: list[Entry[Quota]] = []
    for entry in QUOTAS:
        out.append(entry)
        if entry.name in STORED_AS:
            out.append(Entry(STORED_AS[entry.name], entry.value, f"{entry.name}, by the name runs are stored under"))
    return out


def canonical_scope(scope: str, flag: str) -> str:
    """``scope`` as runs store it (``uniform`` becomes ``layerwise``); unknown names raise a ConfigError."""
    check_choice(scope, flag, [entry.name for entry in scope_choices()])
    return STORED_AS.get(scope, scope)


def quota_of(scope: str) -> str:
    """The registered quota that a stored scope names (``layerwise`` is ``uniform``)."""
    by_stored = {stored: quota for quota, stored in STORED_AS.items()}
    return by_stored.get(scope, scope)


def data_free_scores() -> list[Entry[ScoreMethod]]:
    """The registered scores that need no data, in registration order."""
    return [entry for entry in SCORES if not entry.value.needs_data]


def check_data_free_score(score: str, flag: str) -> None:
    """Raise a one-line ConfigError unless ``score`` is a registered score that needs no data."""
    allowed = [entry.name for entry in data_free_scores()]
    if score in allowed:
        return
    why = "needs scoring data, which IMP and annealing do not use" if score in SCORES else "is not a registered score"
    raise ConfigError(f"{flag} {score} {why}; choose from: {', '.join(allowed)}")
