"""Masks over prunable parameters: selection, application, reports, random masks, I/O."""

from ticketlab.masks.config import PrunableSpec, canonical_prunable
from ticketlab.masks.io import load_mask, save_mask
from ticketlab.masks.mask import (
    LayerStats,
    Mask,
    apply_mask,
    check_mask,
    count_kept,
    density,
    full_mask,
    layer_report,
    prunable_parameters,
    sparsity,
)
from ticketlab.masks.random import random_mask_like, uniform_random_mask

__all__ = [
    "LayerStats",
    "Mask",
    "PrunableSpec",
    "apply_mask",
    "canonical_prunable",
    "check_mask",
    "count_kept",
    "density",
    "full_mask",
    "layer_report",
    "load_mask",
    "prunable_parameters",
    "random_mask_like",
    "save_mask",
    "sparsity",
    "uniform_random_mask",
]
