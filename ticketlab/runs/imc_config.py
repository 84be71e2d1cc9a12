"""The configurations of ``ticketlab imc``: the shared spectrum unit and the IMC run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ticketlab.config import option
from ticketlab.data.config import DataConfig
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models.config import ModelConfig
from ticketlab.training.config import TrainConfig


@dataclass(frozen=True)
class SpectrumRunConfig:
    """Steps 1-5 of IMC (W*, spectrum, Lip(F), gap) for one model, data set and seed.

    Its own directory, so IMC runs that differ only in step 6 (side kept, map, fallback
    sparsity, training) share one spectrum: the expensive part is computed once.
    """

    kind: ClassVar[str] = "imc-spectrum"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    spectrum: SpectrumConfig = dataclasses.field(default_factory=SpectrumConfig)
    batch_size: int = option(128, "examples per warmup SGD iteration", metavar="B")
    seed: int = option(0, "seed of the initialisation, the warmup batches, Lanczos and the probes", metavar="N")


@dataclass(frozen=True)
class IMCRunConfig:
    """Inertial-manifold compression (seed 002): spectrum at W*, gap, prune, train."""

    kind: ClassVar[str] = "imc"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    spectrum: SpectrumConfig = dataclasses.field(default_factory=SpectrumConfig)
    select: SelectConfig = dataclasses.field(default_factory=SelectConfig)
    seed: int = option(0, "seed of the initialisation, the batch order, the spectrum and mask ties", metavar="N")

    def spectrum_run(self) -> SpectrumRunConfig:
        """The spectrum unit this run reads (warmup batches as large as training's)."""
        return SpectrumRunConfig(data=self.data, model=self.model, prunable=self.prunable, spectrum=self.spectrum,
                                 batch_size=self.train.batch_size, seed=self.seed)
