"""Building a model by name: architecture, width, initialisation and seed."""

from __future__ import annotations

import math

from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.models.config import ModelConfig
from ticketlab.models.foreign import call_factory, is_foreign
from ticketlab.models.init import INITS
from ticketlab.models.registry import MODELS
from ticketlab.seeding import seeded


def _check_arguments(
    name: str, input_shape: tuple[int, int, int], num_classes: int, width: float
) -> None:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ConfigError(
            f"{name} needs an input shape (channels, height, width) of positive integers; "
            f"got {shape}"
        )
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"{name} needs at least one class; got num_classes={num_classes}")
    if not (math.isfinite(width) and width > 0):
        raise ConfigError(f"{name} needs a positive finite width multiplier; got {width}")


def build_model(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    *,
    width: float = 1.0,
    init: str = "default",
    seed: int = 0,
    activation: str = "relu",
    model_args: tuple[str, ...] = (),
) -> nn.Module:
    """Build model ``name`` for ``(C, H, W)`` inputs and ``num_classes`` outputs.

    ``name`` is a registered model or a factory spec (``module:factory``, ``file.py:factory``)
    called with ``model_args`` (canonical ``key=value`` strings). Construction and
    initialisation run under ``seeded(seed)``: the same seed gives the same weights, and the
    caller's global RNG state is left untouched. Unknown names, unknown inits and input
    shapes the architecture cannot take raise :class:`ConfigError`. The model is returned
    in training mode.
    """
    foreign = is_foreign(name)
    builder = None if foreign else MODELS.get(name)
    initialise = INITS.get(init)
    _check_arguments(name, input_shape, num_classes, width)
    shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
    with seeded(seed):
        if builder is None:
            model = call_factory(name, shape, num_classes, model_args)
            model.train()
        else:
            model = builder(shape, num_classes, float(width))
        set_activation(model, activation)
        initialise(model)
    return model


def set_activation(model: nn.Module, name: str) -> None:
    """Replace every nn.ReLU of ``model`` by the activation ``name`` (leaky slope 0.01)."""
    if name == "relu":
        return
    factories = {"leaky-relu": lambda: nn.LeakyReLU(0.01), "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if name not in factories:
        raise ConfigError(f"unknown activation '{name}'; choose from relu, {', '.join(factories)}")
    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, child_name, factories[name]())


def build_from_config(
    cfg: ModelConfig, input_shape: tuple[int, int, int], num_classes: int, seed: int
) -> nn.Module:
    """:func:`build_model` with architecture, width and init taken from ``cfg``."""
    return build_model(
        cfg.model, input_shape, num_classes, width=cfg.width, init=cfg.init, seed=seed, activation=cfg.activation,
        model_args=cfg.model_args,
    )


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters (weights, biases, BatchNorm affine), buffers excluded."""
    return sum(p.numel() for p in model.parameters())
