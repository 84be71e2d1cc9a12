"""The pruning-at-initialisation options: score, layer quota, sparsity and schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.registry import Registry

if TYPE_CHECKING:  # the registries import this module; the names are only annotations here
    from ticketlab.pruning.quotas import Quota
    from ticketlab.pruning.scores import ScoreMethod

TARGETS = ("direct", "effective")


def _methods() -> Registry[ScoreMethod]:
    # Lazy: the score registry imports this module (ScoreContext carries a PruneConfig).
    from ticketlab.pruning.scores import SCORES

    return SCORES


def _quotas() -> Registry[Quota]:
    from ticketlab.pruning.quotas import QUOTAS

    return QUOTAS


def structure_choices() -> Registry[Any]:
    from ticketlab.pruning.structures import STRUCTURES

    return STRUCTURES


STRUCTURE_HELP = "sparsity type: which weights are pruned together, N:M written as e.g. 2:4"


@dataclass(frozen=True)
class PruneConfig:
    """How to prune at initialisation: which score, which quota, how far, in how many rounds."""

    method: str = option("magnitude", "score ranking the weights, the lowest pruned", choices=_methods)
    quota: str = option("global", "how the kept weights are shared among layers", choices=_quotas)
    sparsity: float = option(
        0.9, "fraction of the prunable weights to remove, in [0, 1)", metavar="S"
    )
    target: str = option(
        "direct",
        "what --sparsity counts: direct (weights removed) or effective (also the kept "
        "weights cut off every input-output path)",
        choices=TARGETS,
    )
    rounds: int | None = option(
        None,
        "pruning rounds; round r of R prunes to density (1 - S)^(r/R), re-scoring the "
        "survivors (default: 100 for synflow, 1 for every other method)",
        metavar="R",
    )
    score_per_class: int = option(
        10,
        "training examples per class, drawn class-stratified, that data-dependent scores "
        "(snip, grasp) see",
        metavar="N",
    )
    reshuffle: bool = option(
        False,
        "layerwise reshuffling: replace the pruned mask by a random one with the same number "
        "of kept weights in every layer (seed 003: pruning at init survives it)",
    )
    grasp_temperature: float = option(
        200.0, "GraSP divides the logits by this temperature before the loss", metavar="T"
    )
    structure: str = option(
        "unstructured", STRUCTURE_HELP + "; N:M needs --sparsity 1 - N/M", choices=structure_choices, strict=False,
        metavar="TYPE",
    )

    def __post_init__(self) -> None:
        check_choice(self.method, "--method", _methods().names())
        check_choice(self.quota, "--quota", _quotas().names())
        check_choice(self.target, "--target", TARGETS)
        # Written as a negated range so that NaN fails too.
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"--sparsity must be in [0, 1), got {self.sparsity}")
        if self.rounds is not None and self.rounds < 1:
            raise ConfigError(f"--rounds must be at least 1, got {self.rounds}")
        if self.score_per_class < 1:
            raise ConfigError(f"--score-per-class must be at least 1, got {self.score_per_class}")
        if not (math.isfinite(self.grasp_temperature) and self.grasp_temperature > 0):
            raise ConfigError(
                f"--grasp-temperature must be positive and finite, got {self.grasp_temperature}"
            )
        self._check_structure()

    def _check_structure(self) -> None:
        from ticketlab.pruning.structures import TOLERANCE, parse_structure

        found = parse_structure(self.structure)
        object.__setattr__(self, "structure", found.spec)
        if found.spec == "unstructured":
            return
        if self.target != "direct" or self.reshuffle:
            raise ConfigError(f"--structure {found.spec} takes neither --target effective nor --reshuffle")
        fixed = found.fixed_density
        # Below 1 - N/M a gradual schedule is on its way to N:M (see ticketlab.pruning.structures).
        if fixed is not None and self.sparsity > 1.0 - fixed + TOLERANCE:
            raise ConfigError(f"--structure {found.spec} fixes the sparsity at {1.0 - fixed:.6g}: give --sparsity "
                              f"{1.0 - fixed:.6g}, got {self.sparsity}")

    @property
    def density(self) -> float:
        """Fraction of the prunable weights kept (1 - sparsity)."""
        return 1.0 - self.sparsity

    @property
    def resolved_rounds(self) -> int:
        """``rounds``, or the method's default when it is None."""
        if self.rounds is not None:
            return self.rounds
        from ticketlab.pruning.scores import SCORES

        return SCORES.get(self.method).default_rounds
