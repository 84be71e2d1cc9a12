"""The options of sparse training: the method, its target sparsity, its initial mask and its schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.pruning.config import STRUCTURE_HELP, structure_choices
from ticketlab.registry import Registry

if TYPE_CHECKING:  # the registries import this module; the names are only annotations here
    from ticketlab.pruning.quotas import Quota
    from ticketlab.pruning.scores import ScoreMethod
    from ticketlab.sparse.methods import SparseMethod

GMP_ONLY = ("initial_sparsity", "prune_start", "prune_end", "prune_every")
DYNAMIC_ONLY = ("update_every", "drop_fraction", "end_update")


def _methods() -> Registry[SparseMethod]:
    from ticketlab.sparse.methods import SPARSE_METHODS

    return SPARSE_METHODS


def _scores() -> Registry[ScoreMethod]:
    from ticketlab.pruning.scores import SCORES

    return SCORES


def _quotas() -> Registry[Quota]:
    from ticketlab.pruning.quotas import QUOTAS

    return QUOTAS


@dataclass(frozen=True)
class SparseConfig:
    """Which sparse-training method, to what sparsity, from which initial mask, on which schedule."""

    method: str = option("static", "how the mask evolves during training", choices=_methods)
    sparsity: float = option(
        0.9, "fraction of the prunable weights removed, in [0, 1): throughout (static, set, rigl) or at the "
        "end of the schedule (gmp)", metavar="S",
    )
    score: str = option(
        "random", "score ranking the initial weights for the initial mask (the lowest pruned)", choices=_scores,
    )
    quota: str = option(
        "erk", "how the kept weights are shared among layers: the initial mask and every gmp pruning step "
        "(set and rigl then keep each layer's count)", choices=_quotas,
    )
    initial_sparsity: float = option(
        0.0, "gmp: the sparsity of the initial mask and of the schedule's start, in [0, --sparsity]", metavar="S",
    )
    prune_start: float = option(
        0.0, "gmp: where the cubic schedule starts, as a fraction of the training steps", metavar="F",
    )
    prune_end: float = option(
        0.75, "gmp: where the cubic schedule reaches --sparsity, as a fraction of the training steps "
        "(then the mask stays fixed)", metavar="F",
    )
    prune_every: int = option(100, "gmp: optimizer steps between two pruning steps", metavar="N")
    update_every: int = option(100, "set, rigl: optimizer steps between two mask updates", metavar="N")
    drop_fraction: float = option(
        0.3, "set, rigl: the fraction of each layer's kept weights dropped (and regrown) at the first update, "
        "cosine-annealed to 0 at --end-update, in (0, 1)", metavar="F",
    )
    end_update: float = option(
        0.75, "set, rigl: the last mask update comes before this fraction of the training steps", metavar="F",
    )
    structure: str = option(
        "unstructured", STRUCTURE_HELP + "; N:M needs --sparsity 1 - N/M and no --quota; N:M and channel with static and gmp "
        "only",
        choices=structure_choices, strict=False, metavar="TYPE",
    )

    def __post_init__(self) -> None:
        check_choice(self.method, "--method", _methods().names())
        check_choice(self.score, "--score", _scores().names())
        check_choice(self.quota, "--quota", _quotas().names())
        _in_range(self.sparsity, "--sparsity", 0.0, 1.0, closed=False)
        _in_range(self.initial_sparsity, "--initial-sparsity", 0.0, self.sparsity)
        _in_range(self.prune_start, "--prune-start", 0.0, 1.0)
        _in_range(self.prune_end, "--prune-end", self.prune_start, 1.0)
        if self.prune_every < 1 or self.update_every < 1:
            raise ConfigError(f"--prune-every and --update-every must be at least 1, got {self.prune_every} and "
                              f"{self.update_every}")
        if not 0.0 < self.drop_fraction < 1.0:
            raise ConfigError(f"--drop-fraction must be in (0, 1), got {self.drop_fraction}")
        if not 0.0 < self.end_update <= 1.0:
            raise ConfigError(f"--end-update must be in (0, 1], got {self.end_update}")
        own = _methods().get(self.method).options
        defaults = {f.name: f.default for f in fields(self)}
        foreign = [name for name in (*GMP_ONLY, *DYNAMIC_ONLY) if name not in own
                   and getattr(self, name) != defaults[name]]
        if foreign:
            flags = ", ".join("--" + name.replace("_", "-") for name in foreign)
            raise ConfigError(f"--method {self.method} takes no {flags}")
        self._check_structure()

    def _check_structure(self) -> None:
        from ticketlab.pruning.structures import check_structure_options, parse_structure

        found = parse_structure(self.structure)
        object.__setattr__(self, "structure", found.spec)
        check_structure_options(found.spec, self.sparsity, self.quota, "erk")
        if not found.moves_single_weights and _methods().get(self.method).moves_single_weights:
            raise ConfigError(f"--method {self.method} moves single weights and would break --structure "
                              f"{found.spec}: use static or gmp")

    @property
    def density(self) -> float:
        """The final fraction of prunable weights kept (1 - sparsity)."""
        return 1.0 - self.sparsity


def _in_range(value: float, flag: str, low: float, high: float, *, closed: bool = True) -> None:
    # Written as negated ranges so that NaN fails too.
    inside = low <= value <= high if closed else low <= value < high
    if not (inside and math.isfinite(value)):
        bracket = "]" if closed else ")"
        raise ConfigError(f"{flag} must be in [{low:g}, {high:g}{bracket}, got {value}")
