"""Pruning at initialisation: scores, layerwise quotas, selection and nested mask families.

``prune_at_init(model, alive, config, batches, input_shape, generator)`` is the entry
point; a new score goes in :mod:`ticketlab.pruning.scores`, a new quota in
:mod:`ticketlab.pruning.quotas`, each registered in that package's one registry.
"""

from ticketlab.pruning.batches import score_batches
from ticketlab.pruning.config import PruneConfig
from ticketlab.pruning.family import MaskFamily, QuotaFamily, RankedFamily
from ticketlab.pruning.prune import PruneOutcome, prune_at_init
from ticketlab.pruning.quotas import QUOTAS, apportion, layer_counts
from ticketlab.pruning.scores import SCORES, ScoreContext, ScoreMethod
from ticketlab.pruning.select import mask_from_scores

__all__ = [
    "QUOTAS",
    "SCORES",
    "MaskFamily",
    "PruneConfig",
    "PruneOutcome",
    "QuotaFamily",
    "RankedFamily",
    "ScoreContext",
    "ScoreMethod",
    "apportion",
    "layer_counts",
    "mask_from_scores",
    "prune_at_init",
    "score_batches",
]
