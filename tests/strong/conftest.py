"""A tiny trained target shared by the strong-ticket tests (trained once per session)."""

from __future__ import annotations

import pytest

from ticketlab.data import DataConfig
from ticketlab.models import ModelConfig
from ticketlab.runs import TrainingResult, TrainRunConfig, run_train
from ticketlab.training import TrainConfig


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """lenet300 at width 0.05 on synthetic 1x6x6 inputs, 3 epochs."""
    config = TrainRunConfig(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x6x6", synthetic_train=300, synthetic_test=200),
        model=ModelConfig(model="lenet300", width=0.05),
        train=TrainConfig(duration="3ep", batch_size=50),
    )
    return run_train(config, runs_dir=tmp_path_factory.mktemp("runs"))
