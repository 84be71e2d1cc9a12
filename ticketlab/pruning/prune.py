"""Pruning at initialisation: score, share the budget among layers, select; one or more rounds."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, apply_mask, check_mask
from ticketlab.pruning.config import PruneConfig
from ticketlab.pruning.family import FixedFamily, MaskFamily, QuotaFamily, RankedFamily
from ticketlab.pruning.quotas import QUOTAS, apportion, kept_total, layer_counts
from ticketlab.pruning.scores import SCORES, ScoreContext
from ticketlab.pruning.select import mask_from_scores, rank_layers
from ticketlab.pruning.structures import Structure, kept_counts, structure_for

Batch = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class PruneOutcome:
    """The pruned mask and the nested family it belongs to (``family.mask_at(kept)``)."""

    mask: Mask
    family: MaskFamily


def alive_scores(
    model: nn.Module,
    alive: Mask,
    config: PruneConfig,
    batches: list[Batch],
    input_shape: tuple[int, int, int],
    generator: torch.Generator,
) -> dict[str, Tensor]:
    """The method's scores on CPU, dead (and NaN) entries set to -inf so they rank last."""
    ctx = ScoreContext(model, alive, batches, input_shape, generator, config)
    raw = SCORES.get(config.method)(ctx)
    out = {}
    for name, m in alive.items():
        score = torch.nan_to_num(raw[name].detach().cpu(), nan=-math.inf)
        if not score.is_floating_point():
            score = score.to(torch.float64)
        out[name] = score.masked_fill(~m, -math.inf)
    return out


def prune_at_init(
    model: nn.Module,
    alive: Mask,
    config: PruneConfig,
    batches: list[Batch],
    input_shape: tuple[int, int, int],
    generator: torch.Generator,
) -> PruneOutcome:
    """Prune the ``alive`` entries of ``model`` to ``config.sparsity`` of the mask's N entries.

    The model is not changed (scores run on a copy with the dead entries zeroed); the
    caller applies the mask. One round: scores computed once, the quota's counts kept.
    R rounds: round r keeps the quota's counts at density d^(r/R) among the survivors,
    re-scored each round. ``generator`` drives random scores and every tie-break.
    A ``config.structure`` other than unstructured selects through it (its family is then
    the pruned mask alone: structured masks have no nested members in between).
    """
    method = SCORES.get(config.method)
    if method.needs_data and not batches:
        raise ConfigError(f"--method {config.method} needs scoring data, and no batches were given")
    check_mask(model, alive)
    alive = {name: m.cpu() for name, m in alive.items()}
    shapes = {name: m.shape for name, m in alive.items()}
    total = sum(m.numel() for m in alive.values())
    if kept_total(config.density, total) > sum(int(m.sum()) for m in alive.values()):
        raise ConfigError(
            f"the mask already keeps fewer weights than sparsity {config.sparsity} allows"
        )
    structure = structure_for(config.structure, model, shapes)
    work = copy.deepcopy(model)
    apply_mask(work, alive)
    if config.resolved_rounds > 1:
        return _iterative(work, alive, config, batches, input_shape, generator, structure)
    if structure.spec != "unstructured":
        scores = alive_scores(work, alive, config, batches, input_shape, generator)
        caps = {name: int(m.sum()) for name, m in alive.items()}
        counts = kept_counts(structure, config.quota, shapes, config.density, scores, caps=caps)
        mask = mask_from_scores(scores, counts, alive, generator, structure)
        return PruneOutcome(mask, FixedFamily(mask))
    # One round: fixed scores, so the family is the quota's counts over fixed rankings.
    scores = alive_scores(work, alive, config, batches, input_shape, generator)
    curve = QUOTAS.get(config.quota).curve(shapes, scores)
    caps = {name: int(m.sum()) for name, m in alive.items()}
    counts = apportion(curve(config.density), kept_total(config.density, total), caps)
    ranking = rank_layers(scores, alive, generator)
    family = QuotaFamily(ranking, shapes, curve, counts, config.density)
    return PruneOutcome(family.mask_at(family.min_kept), family)


def _iterative(
    work: nn.Module,
    alive: Mask,
    config: PruneConfig,
    batches: list[Batch],
    input_shape: tuple[int, int, int],
    generator: torch.Generator,
    structure: Structure,
) -> PruneOutcome:
    """R rounds at densities d^(r/R); the removal history becomes one global ranking."""
    rounds = config.resolved_rounds
    shapes = {name: m.shape for name, m in alive.items()}
    if structure.fixed_density is None and not QUOTAS.get(config.quota).needs_scores:
        # A shape-only quota that cannot reach the target fails now, naming the target
        # sparsity rather than that of whichever round first falls short.
        layer_counts(config.quota, shapes, config.density)
    current = {name: m.clone() for name, m in alive.items()}
    # Per entry: the round that removed it (rounds + 1: survived; 0: dead from the start)
    # and its score in that round; together they order the whole pruning history.
    removed_in = {name: m.to(torch.int64) * (rounds + 1) for name, m in alive.items()}
    key = {name: torch.zeros(m.shape, dtype=torch.float64) for name, m in alive.items()}
    for r in range(1, rounds + 1):
        density = config.density ** (r / rounds)
        apply_mask(work, current)
        scores = alive_scores(work, current, config, batches, input_shape, generator)
        caps = {name: int(m.sum()) for name, m in current.items()}
        counts = kept_counts(structure, config.quota, shapes, density, scores, caps=caps)
        kept = mask_from_scores(scores, counts, current, generator, structure)
        for name, now in current.items():
            dropped = now & ~kept[name]
            removed_in[name][dropped] = r
            key[name][dropped] = scores[name][dropped].to(torch.float64)
            key[name][kept[name]] = scores[name][kept[name]].to(torch.float64)
        current = kept
    if structure.spec != "unstructured":
        return PruneOutcome(current, FixedFamily(current))
    ranks = _global_ranks(removed_in, key, generator)
    family = RankedFamily(ranks, sum(int(m.sum()) for m in current.values()))
    return PruneOutcome(current, family)


def _global_ranks(
    removed_in: dict[str, Tensor], key: dict[str, Tensor], generator: torch.Generator
) -> dict[str, Tensor]:
    """Rank from the bottom by (removal round, score in that round, random tie-break)."""
    rounds = torch.cat([r.flatten() for r in removed_in.values()])
    keys = torch.cat([k.flatten() for k in key.values()])
    candidates = (rounds > 0).nonzero().flatten()
    order = candidates[torch.randperm(candidates.numel(), generator=generator)]
    # Stable sorts, least significant key first, make one lexicographic order.
    order = order[torch.sort(keys[order], stable=True).indices]
    order = order[torch.sort(rounds[order], stable=True).indices]
    flat = torch.full_like(rounds, -1)
    flat[order] = torch.arange(order.numel())
    ranks, start = {}, 0
    for name, r in removed_in.items():
        ranks[name] = flat[start : start + r.numel()].view(r.shape)
        start += r.numel()
    return ranks
