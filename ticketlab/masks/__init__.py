"""Masks over prunable parameters: selection, application, reports, random masks, I/O."""

from ticketlab.masks.config import PrunableSpec, canonical_prunable
from ticketlab.masks.effective import (
    EffectivePass,
    UnsupportedModelError,
    effective_counts,
    effective_mask,
    effective_pass,
    effective_sparsity,
)
from ticketlab.masks.effective_report import (
    EffectiveLayerStats,
    EffectiveReport,
    effective_report,
    effective_report_or_none,
    format_effective_report,
)
from ticketlab.masks.graph import channel_effective_mask, graph_effective_mask
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
    "EffectiveLayerStats",
    "EffectivePass",
    "EffectiveReport",
    "LayerStats",
    "Mask",
    "PrunableSpec",
    "UnsupportedModelError",
    "apply_mask",
    "canonical_prunable",
    "channel_effective_mask",
    "check_mask",
    "count_kept",
    "density",
    "effective_counts",
    "effective_mask",
    "effective_pass",
    "effective_report",
    "effective_report_or_none",
    "effective_sparsity",
    "format_effective_report",
    "full_mask",
    "graph_effective_mask",
    "layer_report",
    "load_mask",
    "prunable_parameters",
    "random_mask_like",
    "save_mask",
    "sparsity",
    "uniform_random_mask",
]
