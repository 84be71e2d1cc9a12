"""A trainer restored from a state dict continues exactly as an uninterrupted one."""

from __future__ import annotations

import io
import random

import pytest
import torch

from ticketlab.data import DataBundle, DataConfig, load_data
from ticketlab.masks import full_mask, uniform_random_mask
from ticketlab.models import build_model
from ticketlab.training import TrainConfig, Trainer

CONFIG = TrainConfig(duration="3ep", batch_size=40, lr=0.05, momentum=0.9, weight_decay=1e-3, warmup="5it")


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def data() -> DataBundle:
    cfg = DataConfig(dataset="synthetic", synthetic_shape="3x8x8", synthetic_train=300, synthetic_test=60, val=60)
    return load_data(cfg)


def make_trainer(data: DataBundle) -> Trainer:
    model = build_model("conv2", data.info.image_shape, data.info.num_classes, width=0.125, seed=3)
    mask = uniform_random_mask(full_mask(model), 0.7, torch.Generator().manual_seed(0))
    return Trainer(model, data, CONFIG, seed=5, mask=mask, augment="crop+flip", crop_padding=2)


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def kill_and_resume(data: DataBundle, kill_at: int) -> Trainer:
    """Train until the checkpoint at step ``kill_at``, then resume a fresh trainer from it."""
    first = make_trainer(data)
    saved: list[dict] = []

    def checkpoint() -> None:
        saved.append(first.state_dict())
        if first.step == kill_at:
            raise Killed

    with pytest.raises(Killed):
        first.run(on_checkpoint=checkpoint, checkpoint_seconds=0.0)
    # Through a real serialisation round trip, like the run directory does.
    buffer = io.BytesIO()
    torch.save(saved[-1], buffer)
    buffer.seek(0)
    resumed = make_trainer(data)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.run()
    return resumed


@pytest.mark.parametrize("kill_at", [1, 5, 6, 7, 12, 17])
def test_resume_from_any_step_is_exact(data: DataBundle, kill_at: int) -> None:
    reference = make_trainer(data)
    reference.run()
    resumed = kill_and_resume(data, kill_at)
    assert resumed.step == reference.step == 18  # 240 training examples / 40 = 6 steps per epoch
    assert without_seconds(resumed.history) == without_seconds(reference.history)
    for (name, got), expected in zip(resumed.model.state_dict().items(), reference.model.state_dict().values()):
        assert torch.equal(got, expected), name


def test_random_kill_points(data: DataBundle) -> None:
    reference = make_trainer(data)
    reference.run()
    for kill_at in random.Random(1234).sample(range(1, 18), 3):
        resumed = kill_and_resume(data, kill_at)
        assert without_seconds(resumed.history) == without_seconds(reference.history)
