"""The random source network: how its weights are drawn, and the modules it is made of.

Every weight of a source network is drawn once, from a seeded generator, before any
target weight is looked at; constructions only choose a mask. ``Draw`` holds the
generator and the distributions, so two constructions with the same seed on targets of
the same architecture build identical source networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class Draw:
    """Seeded uniform draws in float64."""

    generator: torch.Generator

    def uniform(self, shape: tuple[int, ...], low: float, high: float) -> Tensor:
        """Entries uniform in [low, high)."""
        return torch.rand(shape, generator=self.generator, dtype=torch.float64) * (high - low) + low


class SourceResidual(nn.Module):
    """``after(branch(x) + shortcut(x))``: the source network's own skip connection."""

    def __init__(self, branch: nn.Module, shortcut: nn.Module, after: nn.Module) -> None:
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut
        self.after = after

    def forward(self, x: Tensor) -> Tensor:
        """The residual block."""
        return self.after(self.branch(x) + self.shortcut(x))


def conv_or_linear(in_features: int, out_features: int, kernel: tuple[int, ...], *, bias: bool,
                   stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
                   dilation: tuple[int, int] = (1, 1)) -> nn.Module:
    """An empty float64 Conv2d (``kernel`` = (kh, kw)) or Linear (``kernel`` = ()) to fill in."""
    if kernel:
        layer: nn.Module = nn.Conv2d(in_features, out_features, kernel, stride=stride, padding=padding,
                                     dilation=dilation, bias=bias)
    else:
        layer = nn.Linear(in_features, out_features, bias=bias)
    return layer.double().requires_grad_(False)


def fill(layer: nn.Module, weight: Tensor, bias: Tensor | None = None) -> nn.Module:
    """Set a layer's parameters to drawn values (the only write a source layer ever gets)."""
    with torch.no_grad():
        layer.weight.copy_(weight.view_as(layer.weight))
        if bias is not None:
            layer.bias.copy_(bias)
    return layer
