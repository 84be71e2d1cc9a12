"""The configuration of a ``ticketlab strong`` run: which target, which construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError

SOLVER_NAMES = ("exact", "smallest", "mip")


def _constructions() -> list[str]:
    from ticketlab.strong.construct import CONSTRUCTIONS

    return CONSTRUCTIONS.names()


@dataclass(frozen=True)
class StrongConfig:
    """How the random source network is built and pruned."""

    construction: str = option("cunha", "how a target layer is rebuilt from random layers", choices=_constructions)
    n: int = option(30, "candidates (random copies) per target weight", metavar="N")
    solver: str = option(
        "exact",
        "subset-sum solver: exact (meet in the middle), smallest (seed 001: smallest subset within --eps), "
        "mip (HiGHS, needs highspy)",
        choices=SOLVER_NAMES,
    )
    eps: float | None = option(None, "tolerance of the smallest-subset solver (absolute)", metavar="E")
    layers: str = option(
        "all", "target layers to approximate: all, conv, linear, or a comma list of layer names", metavar="WHICH"
    )
    test_examples: int | None = option(
        None,
        "measure accuracies on the first N test examples (large sources are slow to evaluate); "
        "default: the whole test set",
        metavar="N",
    )
    error_examples: int = option(
        1000,
        "measure output errors in float64 on the first N test examples (float32 would hide "
        "errors below 1e-6)",
        metavar="N",
    )
    linear_scale: float = option(
        0.01, "tanh/sigmoid networks: scale of the weights feeding a linearised activation", metavar="S"
    )

    def __post_init__(self) -> None:
        check_choice(self.solver, "--solver", SOLVER_NAMES)
        if self.n < 1:
            raise ConfigError(f"--n must be at least 1, got {self.n}")
        if self.solver == "smallest" and (self.eps is None or self.eps < 0):
            raise ConfigError("--solver smallest needs --eps >= 0")
        if self.solver != "smallest" and self.eps is not None:
            raise ConfigError("--eps only applies to --solver smallest")
        if self.test_examples is not None and self.test_examples < 1:
            raise ConfigError(f"--test-examples must be at least 1, got {self.test_examples}")
        if self.error_examples < 1:
            raise ConfigError(f"--error-examples must be at least 1, got {self.error_examples}")
        if not self.linear_scale > 0:
            raise ConfigError(f"--linear-scale must be positive, got {self.linear_scale}")


@dataclass(frozen=True)
class StrongRunConfig:
    """A construction applied to one trained target, named by that target's run hash."""

    kind: ClassVar[str] = "strong"

    target_hash: str = option("", "hash of the target run (read from its config.json)", cli=False)
    target_unit: str = option("", "the target's part inside its run (e.g. level-3), if any", cli=False)
    strong: StrongConfig = StrongConfig()
    seed: int = option(0, "seed of the random source network", metavar="N")
