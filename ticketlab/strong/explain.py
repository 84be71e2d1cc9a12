"""Why a tensor's weight error is what it is: per-entry errors against what the entry's
candidates could reach (``ticketlab strong --explain``).

Every target entry w is approximated by a subset sum of its n random candidates (one
instance per entry and per copy/part, see :class:`~ticketlab.strong.record.Reach`), so
its estimate lies in [sum of the negative candidates, sum of the positive ones]. An entry
outside that range has an error of at least its distance to the range, whatever the
solver does; an entry near an edge has few subsets close to it. More generally the 2^n
subset sums crowd around their mean (``center``) with standard deviation ``width``, so
an entry's distance from the center in widths (``z``) says how sparse the sums near it
are. :func:`explain` reports,
per approximated weight tensor, the error distribution over entries, the worst entries
with their reachable range and candidates' spread, and how many entries fall outside or
near the edge of their range.

Covered: the weights of every construction that records its instances (cunha, pensia,
burkholz-2l and burkholz-l1, every part and copy). Not covered: biases (their instances
use the constant channels, whose values are themselves approximated in burkholz-l1) and
burkholz-l1's constant-carrying instances; for linearised activations (tanh, sigmoid) the
range describes the subset-sum instance, not the linearisation error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ticketlab.strong.record import LayerApproximation

WORST = 5
EDGE = 0.05


def explain(approximations: list[LayerApproximation], *, worst: int = WORST, edge: float = EDGE
            ) -> list[dict[str, Any]]:
    """One row per approximated weight tensor (see the module docstring).

    An *instance* is one entry of one estimate (copy or part): errors, quantiles and counts
    are over instances. ``outside``: the target lies outside [low, high]; ``near_edge``:
    inside, within ``edge`` times (high - low) of an edge; ``max_abs_z`` the farthest entry
    from its subset sums' center, in widths. Relative errors divide by max|w|
    (1 for an all-zero w), as ``max_rel_weight_error`` does.
    """
    return [_tensor(record, worst, edge) for record in approximations]


def _tensor(record: LayerApproximation, worst: int, edge: float) -> dict[str, Any]:
    weight = record.weight
    scale = float(weight.abs().max()) or 1.0
    estimates = torch.stack(record.weight_estimates)  # (copies, *weight.shape)
    targets = weight.unsqueeze(0).expand_as(estimates)
    errors = (estimates - weight).abs()
    flat = errors.flatten().numpy()
    median, p99 = (float(q) for q in np.quantile(flat, [0.5, 0.99]))
    top = float(errors.max())
    row: dict[str, Any] = {
        "tensor": f"{record.name}.weight",
        "entries": weight.numel(),
        "copies": len(record.weight_estimates),
        "covered": bool(record.weight_reach),
        "median_error": median,
        "p99_error": p99,
        "max_error": top,
        "median_rel_error": median / scale,
        "p99_rel_error": p99 / scale,
        "max_rel_error": top / scale,
        "outside": None,
        "near_edge": None,
    }
    low = high = spread = gap = z = None
    if record.weight_reach:
        low = torch.stack([r.low for r in record.weight_reach])
        high = torch.stack([r.high for r in record.weight_reach])
        spread = torch.stack([r.spread for r in record.weight_reach])
        width = torch.stack([r.width for r in record.weight_reach])
        z = (targets - torch.stack([r.center for r in record.weight_reach])) / width.clamp(min=1e-300)
        row["median_width"] = float(width.median())
        row["max_abs_z"] = float(z.abs().max())
        below, above = low - targets, targets - high
        gap = torch.maximum(below, above).clamp(min=0)
        outside = (below > 0) | (above > 0)
        margin = edge * (high - low)
        near = ~outside & ((targets - low <= margin) | (high - targets <= margin))
        row["outside"] = int(outside.sum())
        row["near_edge"] = int(near.sum())
    order = torch.argsort(errors.flatten(), descending=True, stable=True)[:worst]
    rows = []
    for position in order.tolist():
        where = np.unravel_index(position, tuple(estimates.shape))
        item: dict[str, Any] = {
            "copy": int(where[0]),
            "index": [int(i) for i in where[1:]],
            "target": float(targets[where]),
            "estimate": float(estimates[where]),
            "error": float(errors[where]),
            "rel_error": float(errors[where]) / scale,
        }
        if low is not None and high is not None and spread is not None and gap is not None and z is not None:
            item.update(low=float(low[where]), high=float(high[where]), spread=float(spread[where]),
                        gap=float(gap[where]), z=float(z[where]))
        rows.append(item)
    row["worst"] = rows
    return row
