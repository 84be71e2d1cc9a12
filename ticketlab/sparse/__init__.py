"""Sparse training: masks that move during training (GMP, SET, RigL) or stay fixed (static).

A method is one small class in :mod:`ticketlab.sparse.methods`, registered in
``SPARSE_METHODS``; schedules, the drop-and-grow rule, the initial mask, FLOP counting
and the training-loop hook (:class:`MovingMask`) are shared by all of them.
"""

from ticketlab.sparse.callback import MovingMask
from ticketlab.sparse.config import SparseConfig
from ticketlab.sparse.flops import TrainingCost, layer_macs, sparse_forward
from ticketlab.sparse.initial import initial_mask, initial_pruning
from ticketlab.sparse.methods import SPARSE_METHODS, SparseMethod, UpdateContext
from ticketlab.sparse.schedules import cosine_drop_fraction, cubic_sparsity
from ticketlab.sparse.update import LayerUpdate, drop_and_grow

__all__ = [
    "SPARSE_METHODS",
    "LayerUpdate",
    "MovingMask",
    "SparseConfig",
    "SparseMethod",
    "TrainingCost",
    "UpdateContext",
    "cosine_drop_fraction",
    "cubic_sparsity",
    "drop_and_grow",
    "initial_mask",
    "initial_pruning",
    "layer_macs",
    "sparse_forward",
]
