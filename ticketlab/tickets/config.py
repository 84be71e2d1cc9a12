"""The options of iterative pruning (IMP, magnitude by default) with rewinding."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import option
from ticketlab.errors import ConfigError
from ticketlab.pruning.config import STRUCTURE_HELP, structure_choices
from ticketlab.pruning.structures import TOLERANCE, parse_structure
from ticketlab.tickets.vocabulary import (
    canonical_scope,
    check_data_free_score,
    data_free_scores,
    quota_of,
    scope_choices,
)
from ticketlab.training.duration import Duration


@dataclass(frozen=True)
class LotteryConfig:
    """How many IMP levels, how much each prunes, and where survivors are rewound to."""

    levels: int = option(5, "pruning levels after the dense level 0", metavar="L")
    prune_fraction: float = option(
        0.2, "fraction of the surviving prunable weights removed at each level, in (0, 1)", metavar="P"
    )
    score: str = option(
        "magnitude",
        "score ranking the trained survivors at every level, the lowest pruned (IMP sees no scoring "
        "data, so only scores that need none)",
        choices=data_free_scores,
    )
    # Still named scope, storing global and layerwise as before: run hashes contain both.
    scope: str = option(
        "global",
        "how every level's kept weights are shared among layers; uniform is stored as layerwise, "
        "so both name one run",
        choices=scope_choices,
        flag="--quota",
        aliases=("--scope",),
        metavar="QUOTA",
    )
    rewind: str = option(
        "0it",
        "the weights survivors are reset to before every level: 0 (the initialisation, as in "
        "the original LTH) or a point of level 0's training, Kep or Kit (seed 004: 2ep)",
        metavar="POINT",
    )
    structure: str = option(
        "unstructured", STRUCTURE_HELP + "; N:M needs (1 - P)^levels = N/M, levels in between keeping at least "
        "N of every M", choices=structure_choices, strict=False, metavar="TYPE",
    )

    def __post_init__(self) -> None:
        check_data_free_score(self.score, "--score")
        object.__setattr__(self, "scope", canonical_scope(self.scope, "--quota"))
        if self.levels < 0:
            raise ConfigError(f"--levels must be 0 or more, got {self.levels}")
        if not 0.0 < self.prune_fraction < 1.0:
            raise ConfigError(f"--prune-fraction must be in (0, 1), got {self.prune_fraction}")
        text = self.rewind.strip()
        if text == "0":
            text = "0it"
        point = Duration.parse(text, "--rewind")
        # Canonical form, so "0", "0it" and "0ep" name the same run.
        object.__setattr__(self, "rewind", "0it" if point.amount == 0 else str(point))
        self._check_structure()

    def _check_structure(self) -> None:
        found = parse_structure(self.structure)
        object.__setattr__(self, "structure", found.spec)
        fixed = found.fixed_density
        if fixed is None:
            return
        if self.scope != "global":
            raise ConfigError(f"--structure {found.spec} keeps the same fraction of every layer; it takes no --quota")
        last = self.density(self.levels)
        if self.levels < 1 or abs(last - fixed) > TOLERANCE:
            levels = max(self.levels, 1)
            raise ConfigError(f"--structure {found.spec} ends at density {fixed:g}, and (1 - P)^levels is {last:g}: "
                              f"give e.g. --levels {levels} --prune-fraction {1 - fixed ** (1 / levels):.6g}")

    @property
    def quota(self) -> str:
        """The registered quota that ``scope`` names."""
        return quota_of(self.scope)

    @property
    def rewind_point(self) -> Duration:
        """The rewind point, parsed."""
        return Duration.parse(self.rewind)

    def density(self, level: int) -> float:
        """Target density of the prunable weights at ``level``: (1 - P) ** level."""
        return (1.0 - self.prune_fraction) ** level
