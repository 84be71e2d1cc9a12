"""Step 6 of IMC: from the gap (or the fallback sparsity) and per-weight scores to a mask.

Per block (all prunable weights, or one layer) the gap at N fixes the kept count:
``--keep slow`` keeps d - k = N weights, ``--keep fast`` keeps d - N; without a gap the
block keeps round((1 - S) d), as it always does with ``--budget fixed``. The weights kept are those most in the kept subspace:
highest fastness (``--map leverage``) or Hessian diagonal (``--map diagonal``) for fast,
lowest for slow; ties are broken in a seeded random order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ticketlab.imc.config import SelectConfig
from ticketlab.masks import Mask
from ticketlab.pruning.select import rank_alive


def kept_count(block: Mapping[str, Any], config: SelectConfig) -> tuple[int, str]:
    """How many of the block's d weights to keep, and why ("gap", "fallback" or "fixed")."""
    d = int(block["d"])
    gap = block["gap"]
    if config.budget == "fixed":
        return round((1.0 - config.sparsity) * d), "fixed"
    if gap is not None:
        n = int(gap["index"])
        return (n if config.keep == "slow" else d - n), "gap"
    return round((1.0 - config.sparsity) * d), "fallback"


def weight_scores(tensors: Mapping[str, Tensor], config: SelectConfig) -> Tensor:
    """Per-weight scores, higher kept first: fastness or diag(H), negated to keep the slow side."""
    base = tensors["fastness" if config.map == "leverage" else "diagonal"].to(torch.float64)
    return base if config.keep == "fast" else -base


def block_mask(
    scores: Tensor, count: int, names: Sequence[str], shapes: Mapping[str, torch.Size], generator: torch.Generator
) -> Mask:
    """Keep the ``count`` highest ``scores`` of one block and split the flat mask into its layers."""
    if not 0 <= count <= scores.numel():
        raise ValueError(f"cannot keep {count} of {scores.numel()} weights")
    order = rank_alive(scores, torch.ones(scores.numel(), dtype=torch.bool), generator)
    flat = torch.zeros(scores.numel(), dtype=torch.bool)
    flat[order[:count]] = True
    mask: Mask = {}
    start = 0
    for name in names:
        size = math.prod(shapes[name])
        mask[name] = flat[start : start + size].view(shapes[name])
        start += size
    return mask


def imc_mask(
    blocks: Sequence[Mapping[str, Any]],
    tensors: Mapping[str, Mapping[str, Tensor]],
    shapes: Mapping[str, torch.Size],
    config: SelectConfig,
    generator: torch.Generator,
) -> tuple[Mask, list[dict[str, Any]]]:
    """The IMC mask over every block, and per block its kept count and the count's source."""
    mask: Mask = {}
    record = []
    for block in blocks:
        count, source = kept_count(block, config)
        scores = weight_scores(tensors[block["block"]], config)
        mask.update(block_mask(scores, count, block["parameters"], shapes, generator))
        record.append({"block": block["block"], "d": block["d"], "kept": count, "k": int(block["d"]) - count,
                       "source": source})
    return mask, record
