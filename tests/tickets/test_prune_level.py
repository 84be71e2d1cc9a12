"""One IMP level through the score and quota registries, against hand-computed masks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, full_mask
from ticketlab.models import build_model
from ticketlab.tickets import prune_level


def two_layers(first: list[float], second: list[float]) -> nn.Module:
    """Bias-free 1 x k layers holding the given weights."""
    model = nn.Sequential(nn.Linear(len(first), 1, bias=False), nn.Linear(1, len(second), bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([first]))
        model[1].weight.copy_(torch.tensor(second).view(-1, 1))
    return model


def kept(mask: Mask) -> dict[str, list[int]]:
    return {name: m.flatten().nonzero().flatten().tolist() for name, m in mask.items()}


def level(model: nn.Module, density: float, alive: Mask | None = None, **how: str) -> Mask:
    return prune_level(model, alive or full_mask(model), density, generator=torch.Generator().manual_seed(0), **how)


def test_magnitude_global_keeps_the_largest_anywhere() -> None:
    model = two_layers([0.5, -3.0, 1.0], [2.0, -0.1])
    # round(0.4 * 5) = 2 kept: |-3.0| and |2.0|.
    assert kept(level(model, 0.4)) == {"0.weight": [1], "1.weight": [0]}


def test_magnitude_uniform_keeps_the_largest_per_layer() -> None:
    model = two_layers([0.5, -3.0, 1.0, 0.25], [2.0, -0.1, 0.3, 9.0])
    # 0.5 of each layer of 4: the two largest of each.
    assert kept(level(model, 0.5, quota="uniform")) == {"0.weight": [1, 2], "1.weight": [0, 3]}


def test_lamp_global_differs_from_magnitude_by_hand() -> None:
    model = two_layers([1.0, 2.0, 3.0], [10.0, 20.0])
    # LAMP: layer 0: 9/9 = 1, 4/13, 1/14; layer 1: 400/400 = 1, 100/500 = 1/5. Keep 3 of 5.
    assert kept(level(model, 0.6, score="lamp")) == {"0.weight": [1, 2], "1.weight": [1]}
    # Magnitude keeps 20, 10 and 3 instead.
    assert kept(level(model, 0.6)) == {"0.weight": [2], "1.weight": [0, 1]}


def test_a_layer_keeps_at_most_its_survivors_and_the_total_is_exact() -> None:
    model = two_layers([float(i) for i in range(1, 11)], [float(i) for i in range(1, 11)])
    alive = full_mask(model)
    alive["0.weight"] = torch.zeros_like(alive["0.weight"])
    alive["0.weight"][0, :2] = True
    # uniform at 0.3 wants 3 + 3 of round(0.3 * 20) = 6; layer 0 has 2 survivors, layer 1 takes 4.
    assert kept(level(model, 0.3, alive, quota="uniform")) == {"0.weight": [0, 1], "1.weight": [6, 7, 8, 9]}


def test_dead_weights_stay_dead_whatever_their_score() -> None:
    model = two_layers([5.0, 4.0, 3.0], [1.0, 2.0])
    alive = full_mask(model)
    alive["0.weight"][0, 0] = False  # the largest weight, already pruned
    assert kept(level(model, 0.4, alive)) == {"0.weight": [1, 2], "1.weight": []}


def test_data_dependent_and_unknown_scores_are_refused() -> None:
    model = two_layers([1.0], [1.0])
    with pytest.raises(ConfigError, match="snip needs scoring data.*magnitude, random, synflow, lamp"):
        level(model, 0.5, score="snip")
    with pytest.raises(ConfigError, match="nonsense is not a registered score"):
        level(model, 0.5, score="nonsense")


def test_synflow_needs_the_input_shape() -> None:
    model = build_model("lenet300", (1, 4, 4), 3, width=0.1, seed=0)
    with pytest.raises(ConfigError, match="synflow needs the input shape"):
        level(model, 0.5, score="synflow")
    mask = prune_level(model, full_mask(model), 0.5, score="synflow", generator=torch.Generator().manual_seed(0),
                       input_shape=(1, 4, 4))
    total = sum(m.numel() for m in mask.values())
    assert sum(int(m.sum()) for m in mask.values()) == round(0.5 * total)


def test_an_unreachable_quota_is_a_one_line_config_error() -> None:
    model = build_model("lenet300", (1, 10, 10), 10, width=0.2, seed=0)
    # uniform-plus keeps fc1 (6000 of 7400) dense: density 0.1 is out of reach.
    with pytest.raises(ConfigError, match="uniform-plus cannot reach sparsity 0.9") as caught:
        level(model, 0.1, quota="uniform-plus")
    assert len(str(caught.value).splitlines()) == 1


def test_the_model_is_left_unchanged() -> None:
    model = two_layers([1.0, -2.0], [3.0])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    level(model, 0.5, score="lamp")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
