"""Ablation branches of a lottery level: the same level, one ingredient replaced.

A branch gets the trunk's mask and rewind weights of the level and returns the mask and
initial weights it trains from. One function per branch, registered in ``BRANCHES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ticketlab.masks import Mask, random_mask_like
from ticketlab.registry import Registry


@dataclass(frozen=True)
class BranchInput:
    """What a branch starts from: the trunk's mask and weights, and a way to re-initialise."""

    mask: Mask
    rewind_state: dict[str, torch.Tensor]
    fresh_init: Callable[[], nn.Module]
    generator: torch.Generator


Branch = Callable[[BranchInput], tuple[Mask, dict[str, Any]]]
BRANCHES: Registry[Branch] = Registry("branch")


@BRANCHES.register("random-prune", "a random mask with the trunk's per-layer kept counts, the trunk's weights")
def random_prune(given: BranchInput) -> tuple[Mask, dict[str, Any]]:
    """Layerwise reshuffling: does the ticket's structure matter, or only its layer densities?"""
    densities = {name: int(m.sum()) / m.numel() for name, m in given.mask.items()}
    return random_mask_like(given.mask, densities, given.generator), given.rewind_state


@BRANCHES.register("random-reinit", "the trunk's mask, freshly initialised weights")
def random_reinit(given: BranchInput) -> tuple[Mask, dict[str, Any]]:
    """Does the ticket need its own initial weights, or only its mask?"""
    return given.mask, given.fresh_init().state_dict()


def parse_branches(text: str) -> list[str]:
    """Validate a comma list of branch names (unknown names raise a ConfigError)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        BRANCHES.entry(name)
    return list(dict.fromkeys(names))
