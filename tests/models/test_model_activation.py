"""The --activation option and the cnn3 target of seed 001."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.models import ModelConfig, build_model, count_parameters


@pytest.mark.parametrize("name, kind", [("leaky-relu", nn.LeakyReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)])
@pytest.mark.parametrize("model", ["lenet5", "resnet20", "cnn3"])
def test_activation_replaces_every_relu(model: str, name: str, kind: type) -> None:
    built = build_model(model, (1, 12, 12), 3, activation=name, width=0.25)
    assert not any(isinstance(m, nn.ReLU) for m in built.modules())
    assert any(isinstance(m, kind) for m in built.modules())
    assert built(torch.randn(2, 1, 12, 12)).shape == (2, 3)


def test_activation_keeps_the_weights() -> None:
    a = build_model("lenet5", (1, 28, 28), 10, seed=3)
    b = build_model("lenet5", (1, 28, 28), 10, seed=3, activation="tanh")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_unknown_activation() -> None:
    with pytest.raises(ConfigError, match="--activation"):
        ModelConfig(activation="gelu")


def test_cnn3_shape_and_size() -> None:
    model = build_model("cnn3", (1, 28, 28), 10)
    # conv1 1*32*9+32 = 320, conv2 32*32*9+32 = 9248, fc 32*24*24*10+10 = 184330 (by hand).
    assert count_parameters(model) == 320 + 9248 + 184330
    with pytest.raises(ConfigError, match="cnn3"):
        build_model("cnn3", (1, 4, 4), 10)
