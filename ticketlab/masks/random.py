"""Random masks with a given density per layer (the seeded baseline of every pruning study)."""

from __future__ import annotations

import torch

from ticketlab.errors import ConfigError
from ticketlab.masks.mask import Mask


def random_mask_like(template: Mask, densities: dict[str, float], generator: torch.Generator) -> Mask:
    """A mask keeping exactly ``round(density * n)`` uniformly random entries per layer."""
    out: Mask = {}
    for name, m in template.items():
        d = densities[name]
        if not 0.0 <= d <= 1.0:
            raise ConfigError(f"density of {name} must be in [0, 1], got {d}")
        n = m.numel()
        keep = int(round(d * n))
        flat = torch.zeros(n, dtype=torch.bool)
        flat[torch.randperm(n, generator=generator)[:keep]] = True
        out[name] = flat.view(m.shape)
    return out


def uniform_random_mask(template: Mask, sparsity: float, generator: torch.Generator) -> Mask:
    """A random mask removing the fraction ``sparsity`` of every layer (uniform quota)."""
    if not 0.0 <= sparsity < 1.0:
        raise ConfigError(f"sparsity must be in [0, 1), got {sparsity}")
    return random_mask_like(template, {n: 1.0 - sparsity for n in template}, generator)
