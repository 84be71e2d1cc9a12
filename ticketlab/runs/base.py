"""The fields every run on one model and one data set shares, declared once.

A run config extends :class:`ModelRunConfig` (data, model, prunable weights, seed) or
:class:`TrainedRunConfig` (the same and training) with the block of its own kind. The
hash of a config covers field names and non-default values only (not the class or the
order of fields), so moving a field into a base class renames no run directory; a kind
redeclares ``seed`` to say what its seed drives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ticketlab.config import option
from ticketlab.data import DatasetInfo, check_dataset
from ticketlab.data.config import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import INITS, MODELS, build_from_config
from ticketlab.models.config import ModelConfig
from ticketlab.models.foreign import is_foreign, load_factory
from ticketlab.seeding import derive_seed
from ticketlab.training.config import TrainConfig


def check_sparsity(value: float | None, flag: str = "--sparsity") -> None:
    """Raise a :class:`ConfigError` unless ``value`` is None or in [0, 1)."""
    if value is not None and not 0.0 <= value < 1.0:
        raise ConfigError(f"{flag} must be in [0, 1) (the fraction of weights removed), got {value}")


@dataclass(frozen=True)
class ModelRunConfig:
    """One model on one data set: which weights may be pruned, and the seed of it all."""

    kind: ClassVar[str] = ""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    seed: int = option(0, "seed of the initialisation and of every random choice of the run", metavar="N")

    def check_names(self) -> None:
        """Fail early, before any file is written, on unknown model, init or data set names
        (and on a model factory that cannot be imported)."""
        if is_foreign(self.model.model):
            load_factory(self.model.model)
        else:
            MODELS.entry(self.model.model)
        INITS.entry(self.model.init)
        check_dataset(self.data.dataset)

    def build(self, info: DatasetInfo, *tags: str | int) -> nn.Module:
        """The model for ``info``, initialised from the seed derived for ``tags`` (default: "init")."""
        seed = derive_seed(self.seed, *(tags or ("init",)))
        return build_from_config(self.model, info.image_shape, info.num_classes, seed=seed)


@dataclass(frozen=True)
class TrainedRunConfig(ModelRunConfig):
    """A run that trains its model: :class:`ModelRunConfig` and the training options."""

    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
