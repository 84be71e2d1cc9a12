"""Weight initialisations, applied to a built model; each draws from torch's global RNG.

:func:`ticketlab.models.build_model` seeds that RNG, so callers get reproducible weights.
Every non-default init sets conv/linear biases to 0 and BatchNorm weight 1, bias 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ticketlab.registry import Registry

Initialiser = Callable[[nn.Module], None]

INITS: Registry[Initialiser] = Registry("initialisation")

_WEIGHTED = (nn.Conv2d, nn.Linear)


def _reset_biases_and_batchnorm(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, _WEIGHTED) and module.bias is not None:
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def fan_in(weight: torch.Tensor) -> int:
    """Inputs per output unit: ``in_features``, or ``in_channels / groups * kh * kw``."""
    return int(weight[0].numel())


@INITS.register("default", "PyTorch's own initialisation of each layer (left unchanged)")
def default(model: nn.Module) -> None:
    """Keep the weights PyTorch drew at construction."""


@INITS.register("kaiming-normal", "N(0, 2 / fan_in) weights, zero biases")
def kaiming_normal(model: nn.Module) -> None:
    """Kaiming (He) normal, fan_in mode, ReLU gain."""
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
    _reset_biases_and_batchnorm(model)


@INITS.register("kaiming-uniform", "U(-sqrt(6 / fan_in), sqrt(6 / fan_in)) weights, zero biases")
def kaiming_uniform(model: nn.Module) -> None:
    """Kaiming (He) uniform, fan_in mode, ReLU gain."""
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            nn.init.kaiming_uniform_(module.weight, mode="fan_in", nonlinearity="relu")
    _reset_biases_and_batchnorm(model)


@INITS.register("signed-constant", "edge-popup: weights +-sqrt(2 / fan_in), random signs")
def signed_constant(model: nn.Module) -> None:
    """Each weight is ``+-sqrt(2 / fan_in)`` with a fair random sign; zero biases."""
    for module in model.modules():
        if isinstance(module, _WEIGHTED):
            weight = module.weight
            magnitude = math.sqrt(2.0 / fan_in(weight))
            signs = torch.randint(0, 2, weight.shape, dtype=weight.dtype) * 2 - 1
            with torch.no_grad():
                weight.copy_(signs * magnitude)
    _reset_biases_and_batchnorm(model)
