"""Sparse-training methods: one small class each, registered here and nowhere else.

A method says when the mask may move (:meth:`SparseMethod.moves_at`) and where it moves
to (:meth:`SparseMethod.update`); the initial mask (any registered score x quota), the
bookkeeping of a moving mask (weights, optimizer state, checkpoints, FLOPs) and the
schedules are shared code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ticketlab.masks import Mask
from ticketlab.pruning.quotas import QUOTAS
from ticketlab.pruning.select import mask_from_scores
from ticketlab.pruning.structures import Structure, kept_counts
from ticketlab.registry import Registry
from ticketlab.sparse.config import DYNAMIC_ONLY, GMP_ONLY, SparseConfig
from ticketlab.sparse.schedules import cosine_drop_fraction, cubic_sparsity, gmp_prunes_at, step_at, updates_at
from ticketlab.sparse.update import drop_and_grow


@dataclass(frozen=True)
class UpdateContext:
    """What a method sees when the mask may move, after optimizer step ``step`` of ``total_steps``.

    ``weights`` and ``mask`` are CPU copies (pruned weights are zero); ``gradients`` holds,
    for a method that wants them, the absolute dense gradient of this step's batch (every
    entry, pruned ones included), else None. ``generator`` draws every random choice.
    ``structure``: the sparsity type, bound to the model, that masks keep.
    """

    step: int
    total_steps: int
    weights: dict[str, Tensor]
    mask: Mask
    gradients: dict[str, Tensor] | None
    config: SparseConfig
    generator: torch.Generator
    structure: Structure = Structure()


class SparseMethod:
    """A fixed mask: the base that moving methods override.

    ``options``: the :class:`SparseConfig` fields of its own (others must keep their defaults).
    ``wants_gradient``: it reads the dense gradient at the steps where it moves.
    ``moves_single_weights``: it moves weights one by one (so it cannot keep N:M or channels).
    """

    options: tuple[str, ...] = ()
    wants_gradient: bool = False
    moves_single_weights: bool = False

    def initial_sparsity(self, config: SparseConfig) -> float:
        """The sparsity of the initial mask."""
        return config.sparsity

    def moves_at(self, step: int, total_steps: int, config: SparseConfig) -> bool:
        """Whether :meth:`update` runs after optimizer step ``step``."""
        return False

    def update(self, ctx: UpdateContext) -> Mask:
        """The mask after step ``ctx.step`` (it must not revive a weight it prunes in the same call)."""
        return ctx.mask


class GradualMagnitude(SparseMethod):
    """Zhu & Gupta (2017): sparsity raised on a cubic schedule, every step pruning by magnitude."""

    options = GMP_ONLY

    def initial_sparsity(self, config: SparseConfig) -> float:
        return config.initial_sparsity

    def moves_at(self, step: int, total_steps: int, config: SparseConfig) -> bool:
        start, end = step_at(config.prune_start, total_steps), step_at(config.prune_end, total_steps)
        return gmp_prunes_at(step, start=start, end=end, every=config.prune_every)

    def update(self, ctx: UpdateContext) -> Mask:
        config = ctx.config
        start, end = step_at(config.prune_start, ctx.total_steps), step_at(config.prune_end, ctx.total_steps)
        sparsity = cubic_sparsity(ctx.step, initial=config.initial_sparsity, final=config.sparsity, start=start,
                                  end=end)
        # Dead entries rank last (and lowest for a score-reading quota): pruning never revives.
        scores = {name: ctx.weights[name].abs().masked_fill(~m, -math.inf) for name, m in ctx.mask.items()}
        shapes = {name: m.shape for name, m in ctx.mask.items()}
        caps = {name: int(m.sum()) for name, m in ctx.mask.items()}
        needs = QUOTAS.get(config.quota).needs_scores
        counts = kept_counts(ctx.structure, config.quota, shapes, 1.0 - sparsity, scores if needs else None,
                             caps=caps)
        return mask_from_scores(scores, counts, ctx.mask, ctx.generator, ctx.structure)


class DropAndGrow(SparseMethod):
    """A fixed sparsity; every --update-every steps each layer drops its smallest weights and regrows as many."""

    options = DYNAMIC_ONLY
    moves_single_weights = True

    def moves_at(self, step: int, total_steps: int, config: SparseConfig) -> bool:
        return updates_at(step, every=config.update_every, end=step_at(config.end_update, total_steps))

    def grow_scores(self, name: str, ctx: UpdateContext) -> Tensor:
        """Higher is grown first, among the entries pruned before the update."""
        raise NotImplementedError

    def update(self, ctx: UpdateContext) -> Mask:
        fraction = cosine_drop_fraction(ctx.step, initial=ctx.config.drop_fraction,
                                        end=step_at(ctx.config.end_update, ctx.total_steps))
        return {name: drop_and_grow(ctx.weights[name], m, self.grow_scores(name, ctx), fraction, ctx.generator).mask
                for name, m in ctx.mask.items()}


class SparseEvolutionary(DropAndGrow):
    """Mocanu et al. (2018), SET: regrowth uniformly at random among the pruned entries."""

    def grow_scores(self, name: str, ctx: UpdateContext) -> Tensor:
        # All equal: the growth is the first k of the tie order, a uniformly random subset.
        return torch.zeros(ctx.mask[name].shape)


class RigL(DropAndGrow):
    """Evci et al. (2020), RigL: regrowth where the dense gradient of the step's batch is largest."""

    wants_gradient = True

    def grow_scores(self, name: str, ctx: UpdateContext) -> Tensor:
        if ctx.gradients is None:
            raise ValueError("rigl needs the dense gradient at its update steps")
        return ctx.gradients[name]


SPARSE_METHODS: Registry[SparseMethod] = Registry("sparse-training method")

SPARSE_METHODS.add("static", SparseMethod(), "the initial mask, fixed throughout (the baseline)")
SPARSE_METHODS.add("gmp", GradualMagnitude(), "Zhu & Gupta 2017: gradual magnitude pruning on a cubic schedule")
SPARSE_METHODS.add("set", SparseEvolutionary(), "Mocanu et al. 2018 (SET): drop the smallest, regrow at random")
SPARSE_METHODS.add("rigl", RigL(), "Evci et al. 2020 (RigL): drop the smallest, regrow by dense-gradient magnitude")
