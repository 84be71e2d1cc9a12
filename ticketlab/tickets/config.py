"""The options of iterative magnitude pruning (IMP) with rewinding."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.training.duration import Duration

SCOPES = ("global", "layerwise")


@dataclass(frozen=True)
class LotteryConfig:
    """How many IMP levels, how much each prunes, and where survivors are rewound to."""

    levels: int = option(5, "pruning levels after the dense level 0", metavar="L")
    prune_fraction: float = option(
        0.2, "fraction of the surviving prunable weights removed at each level, in (0, 1)", metavar="P"
    )
    scope: str = option(
        "global",
        "rank weights by magnitude over all prunable layers at once, or within each layer",
        choices=SCOPES,
    )
    rewind: str = option(
        "0it",
        "the weights survivors are reset to before every level: 0 (the initialisation, as in "
        "the original LTH) or a point of level 0's training, Kep or Kit (seed 004: 2ep)",
        metavar="POINT",
    )

    def __post_init__(self) -> None:
        check_choice(self.scope, "--scope", SCOPES)
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

    @property
    def rewind_point(self) -> Duration:
        """The rewind point, parsed."""
        return Duration.parse(self.rewind)

    def density(self, level: int) -> float:
        """Target density of the prunable weights at ``level``: (1 - P) ** level."""
        return (1.0 - self.prune_fraction) ** level
