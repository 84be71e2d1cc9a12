"""The configuration of a ``ticketlab lottery`` run: IMP levels on one model and data set."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ticketlab.config import option
from ticketlab.data.config import DataConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models.config import ModelConfig
from ticketlab.tickets.config import LotteryConfig
from ticketlab.training.config import TrainConfig


@dataclass(frozen=True)
class LotteryRunConfig:
    """Find a winning ticket by IMP: train, prune, rewind, retrain, level after level.

    Branches (ablations) are not part of the config: they are added to a lottery
    directory level by level, so asking for another branch later reuses the trunk.
    """

    kind: ClassVar[str] = "lottery"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    lottery: LotteryConfig = dataclasses.field(default_factory=LotteryConfig)
    seed: int = option(0, "seed of the initialisation, the batch order and the branches", metavar="N")
