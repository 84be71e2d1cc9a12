"""One IMP step: score the survivors, share the level's kept count among layers, keep the best."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, apply_mask
from ticketlab.pruning import QUOTAS, PruneConfig, layer_counts, mask_from_scores
from ticketlab.pruning.prune import alive_scores
from ticketlab.pruning.structures import kept_counts, parse_structure, structure_for
from ticketlab.tickets.vocabulary import check_data_free_score


def prune_level(
    model: nn.Module,
    alive: Mask,
    density: float,
    *,
    score: str = "magnitude",
    quota: str = "global",
    generator: torch.Generator,
    input_shape: tuple[int, int, int] | None = None,
    structure: str = "unstructured",
) -> Mask:
    """Keep the highest-``score`` entries of ``alive``, ``density`` of the prunable weights in all.

    ``score``: a registered score that needs no data; ``quota``: a registered quota name
    (a stored scope goes through :func:`~ticketlab.tickets.vocabulary.quota_of` first).
    The quota's counts are measured against the full layer sizes, not the survivors, so
    level L's density is (1 - P) ** L up to one weight per layer instead of drifting with
    repeated rounding; a layer whose count rounds up past its survivors keeps them all and
    the unit goes to a layer with room, so round(density * N) are kept exactly. Scores are
    float64, dead entries -inf; ties break in a random order drawn from ``generator``
    (after any draws of the score itself). ``input_shape`` (C, H, W) is needed only by
    scores that run the network (synflow); without it they raise a ConfigError.
    ``structure``: the sparsity type (:mod:`ticketlab.pruning.structures`). The model is not changed.
    """
    check_data_free_score(score, "score")
    alive = {name: m.cpu() for name, m in alive.items()}
    # Scores may assume the pruned entries are zero (ScoreContext's contract).
    work = copy.deepcopy(model)
    apply_mask(work, alive)
    config = PruneConfig(method=score, quota=quota)
    try:
        scores = alive_scores(work, alive, config, [], input_shape, generator)  # type: ignore[arg-type]
    except TypeError as exc:
        if input_shape is not None:
            raise
        raise ConfigError(f"score {score} needs the input shape (C, H, W), and none was given") from exc
    # float64, as IMP always ranked: scores of float32 weights convert exactly.
    scores = {name: s.double() for name, s in scores.items()}
    shapes = {name: m.shape for name, m in alive.items()}
    caps = {name: int(m.sum()) for name, m in alive.items()}
    shaped = structure_for(structure, model, shapes)
    counts = kept_counts(shaped, quota, shapes, density, scores, caps=caps)
    return mask_from_scores(scores, counts, alive, generator, shaped)


def check_reachable(mask: Mask, density: float, quota: str, structure: str = "unstructured") -> None:
    """A one-line ConfigError now, before any training, when ``quota`` cannot reach ``density``.

    Only quotas that read layer shapes alone can be checked before there are scores;
    uniform-plus at a high sparsity is the case this catches. N:M uses no quota.
    """
    if parse_structure(structure).fixed_density is None and not QUOTAS.get(quota).needs_scores:
        layer_counts(quota, {name: m.shape for name, m in mask.items()}, density)
