"""Layerwise quotas: how a kept budget is shared among layers.

A quota maps (shapes, density, scores) to real-valued kept counts per layer summing to
density * N; :func:`apportion` rounds them to integers summing exactly to
round(density * N); :func:`layer_counts` does both by name.
"""

from ticketlab.pruning.quotas.apportion import apportion
from ticketlab.pruning.quotas.counts import kept_total, layer_counts
from ticketlab.pruning.quotas.registry import QUOTAS, Curve, Quota, QuotaFn

__all__ = ["QUOTAS", "Curve", "Quota", "QuotaFn", "apportion", "kept_total", "layer_counts"]
