"""Which parameters are prunable: a small spec shared by every command that masks."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import option
from ticketlab.errors import ConfigError

# Canonical order of the tokens of --prunable, so that equal specs hash equally.
PRUNABLE_TOKENS = ("conv", "linear", "biases", "no-first", "no-last")
TOKEN_HELP = {
    "conv": "weights of Conv2d layers",
    "linear": "weights of Linear layers",
    "biases": "also the biases of those layers",
    "no-first": "except the first such layer (the one reading the input)",
    "no-last": "except the last one (the classifier)",
}


def canonical_prunable(spec: str) -> str:
    """Validate a comma-separated --prunable spec and put its tokens in canonical order."""
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in tokens if t not in PRUNABLE_TOKENS]
    if unknown:
        raise ConfigError(
            f"--prunable: unknown token(s) {', '.join(unknown)}; use a comma list of "
            f"{', '.join(PRUNABLE_TOKENS)}"
        )
    if "conv" not in tokens and "linear" not in tokens:
        raise ConfigError("--prunable must name at least one layer type: conv, linear or both")
    return ",".join(t for t in PRUNABLE_TOKENS if t in tokens)


@dataclass(frozen=True)
class PrunableSpec:
    """Which parameters masks cover (parsed form of ``--prunable``)."""

    prunable: str = option(
        "conv,linear",
        "comma list of what is prunable: "
        + "; ".join(f"{k}: {v}" for k, v in TOKEN_HELP.items()),
        metavar="SPEC",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "prunable", canonical_prunable(self.prunable))

    @property
    def tokens(self) -> frozenset[str]:
        """The set of tokens in the spec."""
        return frozenset(self.prunable.split(","))
