"""The model options shared by every command that builds a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ticketlab.config import option
from ticketlab.errors import ConfigError
from ticketlab.models.foreign import canonical_model_args, is_foreign

ACTIVATION_NAMES = ("relu", "leaky-relu", "tanh", "sigmoid")


def _models() -> Any:
    from ticketlab.models.registry import MODELS

    return MODELS


def _init_names() -> list[str]:
    from ticketlab.models.init import INITS

    return INITS.names()


@dataclass(frozen=True)
class ModelConfig:
    """Which architecture, how wide, and how its weights are initialised.

    ``model`` is a registered name or your own factory, ``package.module:factory`` or
    ``path/to/file.py:factory`` (see :mod:`ticketlab.models.foreign`), called with
    ``model_args``. ``--width`` and ``--activation`` are for registered models only (pass
    your own as model args); ``--init`` applies to every model's Conv2d/Linear layers.
    """

    model: str = option(
        "lenet300",
        "architecture: a registered name, or your own package.module:factory or path/to/file.py:factory "
        "(an nn.Module factory, given input_shape and num_classes when it has parameters of those names)",
        choices=_models, strict=False,
    )
    init: str = option("default", "weight initialisation of conv and linear layers", choices=_init_names)
    width: float = option(
        1.0, "multiplier of every hidden layer's width (channels or units)", metavar="X"
    )
    activation: str = option(
        "relu", "activation function of every hidden layer", choices=ACTIVATION_NAMES
    )
    model_args: tuple[str, ...] = option(
        (), "keyword argument of your own model's factory, repeatable; the value is typed as a Python "
        "int, float, bool or quoted string, else taken as a string (default: none)",
        flag="--model-arg", metavar="KEY=VALUE",
    )

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(f"--activation must be one of {', '.join(ACTIVATION_NAMES)}; got '{self.activation}'")
        if not self.width > 0:
            raise ConfigError(f"--width must be positive, got {self.width}")
        object.__setattr__(self, "model_args", canonical_model_args(self.model_args))
        if not is_foreign(self.model):
            if self.model_args:
                raise ConfigError(f"--model-arg is for --model module:factory or file.py:factory, not '{self.model}'")
            return
        if self.width != 1.0:
            raise ConfigError(f"--width applies to registered models only; give {self.model} a --model-arg instead")
        if self.activation != "relu":
            raise ConfigError(
                f"--activation applies to registered models only; give {self.model} a --model-arg instead"
            )
