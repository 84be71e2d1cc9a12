"""The options of IMC: how W* and its spectrum are found (steps 1-5) and how the ticket is cut.

Every choice the seed leaves open is an option here; the help text says which are ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError

SCOPES = ("global", "layerwise")
KEEPS = ("slow", "fast")
MAPS = ("leverage", "diagonal")
STARTS = ("warmup", "init")
BUDGETS = ("gap", "fixed")


@dataclass(frozen=True)
class SpectrumConfig:
    """Steps 1-5 of IMC: W*, the Hessian spectrum at W*, Lip(F) and the gap."""

    warmup_steps: int = option(10, "step 1: plain SGD iterations from the initialisation to W* (seed: 10)", metavar="N")
    warmup_lr: float = option(0.1, "learning rate of those SGD iterations (ours; the seed gives none)", metavar="LR")
    hessian_per_class: int = option(
        100, "training examples per class (class-stratified, seeded) whose mean loss the Hessian is of (ours)",
        metavar="N",
    )
    scope: str = option(
        "global",
        "the spectrum of the whole Hessian over all prunable weights (global), or of each layer's "
        "diagonal block with a gap and a count per layer (layerwise)",
        choices=SCOPES,
        flag="--spectrum",
    )
    eigenpairs: int = option(100, "largest eigenpairs Lanczos resolves (the fast end)", metavar="K")
    smallest: int = option(10, "smallest eigenpairs Lanczos resolves as well (the slow end)", metavar="K")
    lanczos_steps: int = option(600, "at most this many Lanczos steps (one HVP each) per spectrum", metavar="M")
    lanczos_tol: float = option(
        1e-3, "a Ritz pair is converged when its residual is at most this times the largest |eigenvalue|",
        metavar="TOL",
    )
    hutchinson_samples: int = option(
        20, "Rademacher probes of Hutchinson's estimate of the Hessian diagonal (for --map diagonal)", metavar="N"
    )
    epsilon: float = option(0.01, "step 4: radius of the ball around W* on which Lip(F) is estimated (seed: 0.01)",
                            metavar="EPS")
    p: str = option("2", "step 4: the ball's norm, a number p >= 1 or inf (seed: 2)", metavar="P")
    lip_restarts: int = option(3, "random starts of the Lip(F) search (ours)", metavar="N")
    lip_iterations: int = option(10, "alternating power/ascent rounds per start of the Lip(F) search (ours)",
                                 metavar="N")

    def __post_init__(self) -> None:
        check_choice(self.scope, "--spectrum", SCOPES)
        if self.warmup_steps < 0:
            raise ConfigError(f"--warmup-steps must be 0 or more, got {self.warmup_steps}")
        for name in ("hessian_per_class", "eigenpairs", "lanczos_steps", "hutchinson_samples", "lip_restarts",
                     "lip_iterations"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.smallest < 0:
            raise ConfigError(f"--smallest must be 0 or more, got {self.smallest}")
        for name in ("warmup_lr", "epsilon", "lanczos_tol"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"--{name.replace('_', '-')} must be positive and finite, got {value}")
        try:
            p = float(self.p)
        except ValueError:
            raise ConfigError(f"--p must be a number >= 1 or inf, got '{self.p}'") from None
        if not p >= 1:  # NaN fails too
            raise ConfigError(f"--p must be at least 1 (or inf), got {self.p}")
        object.__setattr__(self, "p", f"{p:g}")  # canonical: 2.0 and 2 name the same run

    @property
    def norm_p(self) -> float:
        """The ball's norm as a number (inf for the max-norm)."""
        return float(self.p)


@dataclass(frozen=True)
class SelectConfig:
    """Step 6 of IMC: which side of the gap to keep, how directions become weights, the fallback."""

    keep: str = option(
        "slow",
        "keep the slow eigen-subspace below the gap (d - k = N; inertial-manifold theory) or the fast one "
        "above it (d - k = d - N); which side is our reading",
        choices=KEEPS,
    )
    map: str = option(
        "leverage",
        "how the kept subspace picks weights: leverage (a weight's squared norm in the subspace's eigenvectors) "
        "or diagonal (Hutchinson's diag(H): eigenvectors taken as axes, large entries fast); ours",
        choices=MAPS,
    )
    budget: str = option(
        "gap",
        "how many weights to keep: gap (the rule; --sparsity only where no gap meets the condition) or fixed "
        "(always --sparsity: IMC's choice of weights at a sparsity set by hand, to compare methods)",
        choices=BUDGETS,
    )
    sparsity: float = option(
        0.9, "fraction of the prunable weights to remove where no gap meets the condition (the fallback), or "
        "always with --budget fixed, in [0, 1)",
        metavar="S",
    )
    start: str = option(
        "warmup", "the kept weights start training from W* (warmup: 'reduce W* to W+') or from the initialisation",
        choices=STARTS,
    )

    def __post_init__(self) -> None:
        check_choice(self.keep, "--keep", KEEPS)
        check_choice(self.map, "--map", MAPS)
        check_choice(self.start, "--start", STARTS)
        check_choice(self.budget, "--budget", BUDGETS)
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"--sparsity must be in [0, 1), got {self.sparsity}")
