"""The configuration of a ``ticketlab prune`` run: prune at initialisation, then train."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ticketlab.config import option
from ticketlab.data.config import DataConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models.config import ModelConfig
from ticketlab.pruning.config import PruneConfig
from ticketlab.training.config import TrainConfig


@dataclass(frozen=True)
class PruneRunConfig:
    """Prune a freshly initialised model with a score and a quota, then train the ticket."""

    kind: ClassVar[str] = "prune"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    pruning: PruneConfig = dataclasses.field(default_factory=PruneConfig)
    seed: int = option(0, "seed of the initialisation, the pruning and the batch order", metavar="N")
