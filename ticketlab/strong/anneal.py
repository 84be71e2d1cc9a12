"""Annealed sparse targets (Burkholz, seed 001): prune a trained network step by step.

After dense training, step s = 1..S prunes (by magnitude, or any score that needs no data)
to density d_s = D^(s/S) (D the final density) and training continues from the pruned
weights, never rewound. The exponential schedule removes the same fraction of the
survivors at every step, which is gentler on a trained network than one cut to D.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ticketlab.config import option
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.tickets.imp import prune_level
from ticketlab.tickets.vocabulary import (
    canonical_scope,
    check_data_free_score,
    data_free_scores,
    quota_of,
    scope_choices,
)


@dataclass(frozen=True)
class AnnealConfig:
    """Whether and how the trained target is made sparse."""

    density: float | None = option(
        None,
        "final fraction of prunable weights KEPT, in (0, 1), reached by --anneal-steps "
        "prunings to D^(s/S), training after each; default: none (the target stays dense)",
        flag="--anneal-density",
        metavar="D",
    )
    steps: int = option(12, "pruning steps S of the annealing schedule, as in seed 001", flag="--anneal-steps",
                        metavar="S")
    score: str = option(
        "magnitude",
        "score ranking the trained survivors at every step, the lowest pruned (only scores that need no data)",
        choices=data_free_scores,
        flag="--anneal-score",
    )
    # Still named scope, storing layerwise and global as before: run hashes contain both.
    scope: str = option(
        "layerwise",
        "how every step's kept weights are shared among layers (seed 001: layerwise, every layer "
        "reaches D); uniform is stored as layerwise, so both name one run",
        choices=scope_choices,
        flag="--anneal-scope",
        aliases=("--anneal-quota",),
        metavar="QUOTA",
    )

    def __post_init__(self) -> None:
        check_data_free_score(self.score, "--anneal-score")
        object.__setattr__(self, "scope", canonical_scope(self.scope, "--anneal-scope"))
        if self.density is not None and not 0.0 < self.density < 1.0:
            raise ConfigError(f"--anneal-density must be in (0, 1) (the fraction of weights kept), got {self.density}")
        if self.steps < 1:
            raise ConfigError(f"--anneal-steps must be at least 1, got {self.steps}")

    @property
    def quota(self) -> str:
        """The registered quota that ``scope`` names."""
        return quota_of(self.scope)

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
                     generator: torch.Generator, *, input_shape: tuple[int, int, int] | None = None) -> Mask:
    """The mask of pruning step ``step``: the highest-scoring survivors of ``alive`` at d_step.

    Counts are the quota's against full layer sizes (``layerwise``: round(d * n_l) per
    layer; ``global``: one ranking), apportioned to round(d * N) in all, so masks are nested
    and the density does not drift with repeated rounding. ``input_shape`` (C, H, W) is
    needed only by scores that run the network (synflow).
    """
    return prune_level(model, alive, config.density_at(step), score=config.score, quota=config.quota,
                       generator=generator, input_shape=input_shape)
