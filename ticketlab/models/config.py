"""The model options shared by every command that builds a model."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import option
from ticketlab.errors import ConfigError

ACTIVATION_NAMES = ("relu", "leaky-relu", "tanh", "sigmoid")


def _model_names() -> list[str]:
    from ticketlab.models.registry import MODELS

    return MODELS.names()


def _init_names() -> list[str]:
    from ticketlab.models.init import INITS

    return INITS.names()


@dataclass(frozen=True)
class ModelConfig:
    """Which architecture, how wide, and how its weights are initialised."""

    model: str = option("lenet300", "architecture", choices=_model_names)
    init: str = option("default", "weight initialisation of conv and linear layers", choices=_init_names)
    width: float = option(
        1.0, "multiplier of every hidden layer's width (channels or units)", metavar="X"
    )
    activation: str = option(
        "relu", "activation function of every hidden layer", choices=ACTIVATION_NAMES
    )

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(f"--activation must be one of {', '.join(ACTIVATION_NAMES)}; got '{self.activation}'")
        if not self.width > 0:
            raise ConfigError(f"--width must be positive, got {self.width}")
