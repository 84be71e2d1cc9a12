"""The configuration of a ``ticketlab train`` run: data, model, training, mask, seed."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ticketlab.config import option
from ticketlab.data.config import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks.config import PrunableSpec
from ticketlab.models.config import ModelConfig
from ticketlab.training.config import TrainConfig


def check_sparsity(value: float | None, flag: str = "--sparsity") -> None:
    """Raise a :class:`ConfigError` unless ``value`` is None or in [0, 1)."""
    if value is not None and not 0.0 <= value < 1.0:
        raise ConfigError(f"{flag} must be in [0, 1) (the fraction of weights removed), got {value}")


@dataclass(frozen=True)
class TrainRunConfig:
    """One training run: what ``ticketlab train`` does, as a value that names its directory."""

    kind: ClassVar[str] = "train"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    sparsity: float | None = option(
        None,
        "train under a uniform random mask removing this fraction of every prunable layer, "
        "in [0, 1); default: dense",
        metavar="S",
    )
    seed: int = option(0, "seed of the initialisation, the mask and the batch order", metavar="N")

    def __post_init__(self) -> None:
        check_sparsity(self.sparsity)
