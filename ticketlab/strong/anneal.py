"""Annealed sparse targets (Burkholz, seed 001): prune a trained network step by step.

After dense training, step s = 1..S prunes by magnitude to density d_s = D^(s/S) (D the
final density) and training continues from the pruned weights, never rewound. The
exponential schedule removes the same fraction of the survivors at every step, which is
gentler on a trained network than one cut to D.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.tickets.imp import magnitude_prune

SCOPES = ("layerwise", "global")


@dataclass(frozen=True)
class AnnealConfig:
    """Whether and how the trained target is made sparse."""

    density: float | None = option(
        None,
        "final fraction of prunable weights KEPT, in (0, 1), reached by --anneal-steps magnitude "
        "prunings to D^(s/S), training after each; default: none (the target stays dense)",
        flag="--anneal-density",
        metavar="D",
    )
    steps: int = option(12, "pruning steps S of the annealing schedule, as in seed 001", flag="--anneal-steps",
                        metavar="S")
    scope: str = option(
        "layerwise",
        "rank weights by magnitude within each layer (seed 001: every layer reaches D) or over all layers at once",
        choices=SCOPES,
        flag="--anneal-scope",
    )

    def __post_init__(self) -> None:
        check_choice(self.scope, "--anneal-scope", SCOPES)
        if self.density is not None and not 0.0 < self.density < 1.0:
            raise ConfigError(f"--anneal-density must be in (0, 1) (the fraction of weights kept), got {self.density}")
        if self.steps < 1:
            raise ConfigError(f"--anneal-steps must be at least 1, got {self.steps}")

    @property
    def step_count(self) -> int:
        """Pruning steps actually run: 0 without a final density."""
        return 0 if self.density is None else self.steps

    def density_at(self, step: int) -> float:
        """Target density after pruning step ``step``: D^(step/S); 1.0 at step 0."""
        if step == 0 or self.density is None:
            return 1.0
        if not 1 <= step <= self.steps:
            raise ValueError(f"step must be in 0..{self.steps}, got {step}")
        return float(self.density ** (step / self.steps))


def anneal_densities(final: float, steps: int) -> list[float]:
    """The schedule d_s = final^(s/steps) for s = 1..steps (the last one is ``final``)."""
    return [AnnealConfig(density=final, steps=steps).density_at(s) for s in range(1, steps + 1)]


def anneal_step_mask(model: nn.Module, alive: Mask, config: AnnealConfig, step: int,
                     generator: torch.Generator) -> Mask:
    """The mask of pruning step ``step``: the largest-|w| survivors of ``alive`` at d_step.

    Counts are taken against full layer sizes (``layerwise``: round(d * n_l) per layer,
    apportioned to round(d * N) in all; ``global``: round(d * N)), so masks are nested and
    the density does not drift with repeated rounding.
    """
    return magnitude_prune(model, alive, config.density_at(step), config.scope, generator)
