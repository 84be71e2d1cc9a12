"""Which parameters are prunable: a small spec shared by every command that masks."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

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
PATTERN_HELP = (
    "module-name patterns (fnmatch on names such as features.0): a token with * ? [ or a dot "
    "keeps only matching layers, one starting with ! drops them"
)


def is_pattern(token: str) -> bool:
    """Whether a --prunable token is a module-name pattern (``features.*``, ``!classifier``)."""
    return token.startswith("!") or any(c in token for c in "*?[.")


def canonical_prunable(spec: str) -> str:
    """Validate a comma-separated --prunable spec and put its tokens in canonical order.

    Layer-type tokens come first in their fixed order, then include patterns and ``!``
    exclude patterns, each sorted; patterns alone mean both conv and linear layers.
    """
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    patterns = [t for t in tokens if is_pattern(t)]
    unknown = [t for t in tokens if t not in PRUNABLE_TOKENS and not is_pattern(t)]
    if unknown:
        raise ConfigError(
            f"--prunable: unknown token(s) {', '.join(unknown)}; use a comma list of "
            f"{', '.join(PRUNABLE_TOKENS)} and module-name patterns (features.*, !classifier)"
        )
    if any(t == "!" for t in patterns):
        raise ConfigError("--prunable: '!' must be followed by a module-name pattern")
    if "conv" not in tokens and "linear" not in tokens:
        if not patterns:
            raise ConfigError("--prunable must name at least one layer type: conv, linear or both")
        tokens = ["conv", "linear", *tokens]
    includes = sorted({t for t in patterns if not t.startswith("!")})
    excludes = sorted({t for t in patterns if t.startswith("!")})
    return ",".join([t for t in PRUNABLE_TOKENS if t in tokens] + includes + excludes)


@dataclass(frozen=True)
class PrunableSpec:
    """Which parameters masks cover (parsed form of ``--prunable``)."""

    prunable: str = option(
        "conv,linear",
        "comma list of what is prunable: "
        + "; ".join(f"{k}: {v}" for k, v in TOKEN_HELP.items()) + "; and " + PATTERN_HELP,
        metavar="SPEC",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "prunable", canonical_prunable(self.prunable))

    @property
    def tokens(self) -> frozenset[str]:
        """The set of tokens in the spec (patterns included)."""
        return frozenset(self.prunable.split(","))

    @property
    def includes(self) -> tuple[str, ...]:
        """Module-name patterns a layer must match one of (none: every layer)."""
        return tuple(t for t in self.prunable.split(",") if is_pattern(t) and not t.startswith("!"))

    @property
    def excludes(self) -> tuple[str, ...]:
        """Module-name patterns (without the ``!``) whose layers are not prunable."""
        return tuple(t[1:] for t in self.prunable.split(",") if t.startswith("!"))

    def selects(self, module_name: str) -> bool:
        """Whether the patterns keep the layer named ``module_name`` (types aside)."""
        if self.includes and not any(fnmatchcase(module_name, p) for p in self.includes):
            return False
        return not any(fnmatchcase(module_name, p) for p in self.excludes)
