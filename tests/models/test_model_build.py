"""build_model / build_from_config: seeding, RNG hygiene and input validation."""

from __future__ import annotations

import math

import pytest
import torch

from ticketlab.config import choices_of
from ticketlab.errors import ConfigError
from ticketlab.models import (
    INITS,
    MODELS,
    build_from_config,
    build_model,
    count_parameters,
)
from ticketlab.models.config import ModelConfig


def same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("init", INITS.names())
@pytest.mark.parametrize("name", ["lenet5", "resnet20"])
def test_same_seed_same_weights(name: str, init: str) -> None:
    torch.manual_seed(1)
    first = build_model(name, (3, 32, 32), 10, init=init, seed=7)
    torch.manual_seed(2)  # the caller's RNG state must not matter
    second = build_model(name, (3, 32, 32), 10, init=init, seed=7)
    assert same_state(first, second)
    assert not same_state(first, build_model(name, (3, 32, 32), 10, init=init, seed=8))


def test_caller_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    build_model("conv4", (3, 32, 32), 10, init="signed-constant", seed=5)
    assert torch.equal(torch.get_rng_state(), before)


def test_build_from_config_matches_build_model() -> None:
    cfg = ModelConfig(model="resnet20", init="kaiming-normal", width=0.5)
    built = build_from_config(cfg, (3, 32, 32), 10, seed=3)
    direct = build_model("resnet20", (3, 32, 32), 10, width=0.5, init="kaiming-normal", seed=3)
    assert same_state(built, direct)


def test_config_choices_list_every_model_and_init() -> None:
    fields = {f.name: f for f in ModelConfig.__dataclass_fields__.values()}
    assert choices_of(fields["model"]) == MODELS.names()
    assert choices_of(fields["init"]) == INITS.names()


def test_unknown_names_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown model 'resnet1000'"):
        build_model("resnet1000", (3, 32, 32), 10)
    with pytest.raises(ConfigError, match="unknown initialisation 'xavier'"):
        build_model("lenet5", (1, 28, 28), 10, init="xavier")


@pytest.mark.parametrize("shape", [(1, 3, 3), (1, 28, 3), (3, 2, 40)])
def test_lenet5_too_small_raises_config_error(shape: tuple[int, int, int]) -> None:
    with pytest.raises(ConfigError) as caught:
        build_model("lenet5", shape, 10)
    message = str(caught.value)
    assert "lenet5" in message and str(shape) in message and "\n" not in message


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("shape", [(1, 0, 28), (0, 28, 28), (1, 28, -1), (28, 28), (1, 2, 3, 4)])
def test_invalid_shapes_raise_config_error(name: str, shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match=name):
        build_model(name, shape, 10)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [0.0, -1.0, math.nan, math.inf])
def test_invalid_width_raises_config_error(width: float) -> None:
    with pytest.raises(ConfigError, match="width"):
        build_model("lenet300", (1, 28, 28), 10, width=width)


def test_invalid_class_count_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="class"):
        build_model("lenet300", (1, 28, 28), 0)


def test_count_parameters_counts_weights_and_biases_not_buffers() -> None:
    # Linear 4 -> 3 (15) + BatchNorm1d(3) affine (6); running stats are buffers.
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    assert count_parameters(model) == 21


def test_models_are_built_in_training_mode() -> None:
    assert build_model("resnet20", (3, 32, 32), 10).training
