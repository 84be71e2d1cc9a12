"""What a score sees (:class:`ScoreContext`) and how it is registered (:class:`ScoreMethod`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ticketlab.masks import Mask
from ticketlab.pruning.config import PruneConfig

Batch = tuple[Tensor, Tensor]
Scores = dict[str, Tensor]


@dataclass
class ScoreContext:
    """Everything a score function may use.

    ``model`` has its pruned entries already zero; ``mask`` is the current mask (True =
    alive); ``batches`` are (images, labels) scoring batches, possibly empty;
    ``input_shape`` is (C, H, W); ``generator`` is the only source of randomness.
    A score must leave ``model`` exactly as it found it.
    """

    model: nn.Module
    mask: Mask
    batches: list[Batch]
    input_shape: tuple[int, int, int]
    generator: torch.Generator
    config: PruneConfig = field(default_factory=PruneConfig)

    def weights(self) -> dict[str, nn.Parameter]:
        """The model's parameters named by the mask, in mask order."""
        params = dict(self.model.named_parameters())
        return {name: params[name] for name in self.mask}


ScoreFn = Callable[[ScoreContext], Scores]


@dataclass(frozen=True)
class ScoreMethod:
    """A registered score: the function and what the driver must know about it.

    ``needs_data``: it reads ``ctx.batches`` (an empty list is an error).
    ``default_rounds``: rounds used when ``PruneConfig.rounds`` is None.
    """

    score: ScoreFn
    needs_data: bool = False
    default_rounds: int = 1

    def __call__(self, ctx: ScoreContext) -> Scores:
        return self.score(ctx)
