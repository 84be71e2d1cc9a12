"""The initial mask of a sparse run: any registered score x quota, at the method's initial sparsity."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ticketlab.masks import Mask
from ticketlab.pruning import PruneConfig, prune_at_init
from ticketlab.sparse.config import SparseConfig
from ticketlab.sparse.methods import SPARSE_METHODS

Batch = tuple[Tensor, Tensor]


def initial_pruning(config: SparseConfig) -> PruneConfig:
    """The pruning-at-initialisation options that give ``config``'s initial mask."""
    sparsity = SPARSE_METHODS.get(config.method).initial_sparsity(config)
    return PruneConfig(method=config.score, quota=config.quota, sparsity=sparsity, structure=config.structure)


def initial_mask(model: nn.Module, alive: Mask, config: SparseConfig, batches: list[Batch],
                 input_shape: tuple[int, int, int], generator: torch.Generator) -> Mask:
    """``alive`` pruned by ``config.score`` under ``config.quota`` to the method's initial sparsity.

    At sparsity 0 (gmp from dense) it is ``alive`` itself. ``model`` is not changed.
    """
    pruning = initial_pruning(config)
    if pruning.sparsity == 0.0:
        return {name: m.clone() for name, m in alive.items()}
    return prune_at_init(model, alive, pruning, batches, input_shape, generator).mask
