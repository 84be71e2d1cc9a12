"""The one record of a layer's approximation: errors by hand, and every copy recorded."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.models import build_model
from ticketlab.strong.construct import Construction, construct
from ticketlab.strong.metrics import weight_errors
from ticketlab.strong.record import LayerApproximation


def tensor(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# Dyadic values, so every difference below is exact in float64.
WEIGHT = tensor([[1.0, -4.0], [2.0, 0.5]])
BIAS = tensor([0.5, -1.0])
RECORD = LayerApproximation(
    "fc",
    WEIGHT,
    BIAS,
    [tensor([[1.125, -4.0], [1.875, 0.5]]), tensor([[1.0, -4.25], [2.0, 0.5]])],
    [tensor([0.5, -0.875]), tensor([0.625, -1.0])],
)


def test_errors_are_the_worst_over_every_copy() -> None:
    assert RECORD.weight_error == 0.25  # the second copy's -4.25
    assert RECORD.relative_weight_error == 0.25 / 4.0
    assert RECORD.bias_error == 0.125
    assert RECORD.relative_bias_error == 0.125 / 1.0


def test_an_all_zero_target_reports_its_absolute_error() -> None:
    record = LayerApproximation("conv", torch.zeros(1, 1, 1, 1, dtype=torch.float64), None,
                                [torch.full((1, 1, 1, 1), -0.375, dtype=torch.float64)])
    assert record.relative_weight_error == 0.375
    assert record.bias_error is None and record.relative_bias_error is None


def test_bias_estimates_exactly_when_there_is_a_bias() -> None:
    with pytest.raises(ValueError, match="at least one weight estimate"):
        LayerApproximation("fc", WEIGHT, None, [])
    with pytest.raises(ValueError, match="bias estimates"):
        LayerApproximation("fc", WEIGHT, BIAS, [WEIGHT])
    with pytest.raises(ValueError, match="bias estimates"):
        LayerApproximation("fc", WEIGHT, None, [WEIGHT], [BIAS])


def test_weight_errors_rows_in_record_order() -> None:
    no_bias = LayerApproximation("out", tensor([[0.5]]), None, [tensor([[0.4375]])])
    built = Construction("hand", [], nn.Sequential(), {}, [RECORD, no_bias])
    assert weight_errors(built) == [
        {"tensor": "fc.weight", "max_rel_error": 0.0625},
        {"tensor": "fc.bias", "max_rel_error": 0.125},
        {"tensor": "out.weight", "max_rel_error": 0.125},
    ]


@pytest.mark.parametrize(
    "construction, nonnegative, expected",
    [
        # Two parts (relu(x), relu(-x)) for a signed input, one where the input is >= 0
        # (raw pixels into conv1, a ReLU's output into every later layer); one bias estimate.
        ("cunha", False, {"conv1": (2, 1), "conv2": (1, 1), "fc": (1, 1)}),
        ("burkholz-2l", True, {"conv1": (1, 1), "conv2": (1, 1), "fc": (1, 1)}),
        # burkholz-l1, n = 4: the first layer reads 2 parts and keeps 4 copies of every
        # unit (8 weight estimates), the second 1 part and 4 copies, the last one copy.
        ("burkholz-l1", False, {"conv1": (8, 4), "conv2": (4, 4), "fc": (1, 1)}),
    ],
)
def test_every_copy_is_recorded(construction: str, nonnegative: bool, expected: dict) -> None:
    model = build_model("cnn3", (1, 8, 8), 4, seed=0, width=0.125).eval().double()
    built = construct(model, (1, 8, 8), construction=construction, n=4, nonnegative_input=nonnegative)
    layers = {name: module for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))}
    found = {r.name: (len(r.weight_estimates), len(r.bias_estimates)) for r in built.approximations}
    assert found == expected
    for record in built.approximations:
        layer = layers[record.name]
        assert torch.equal(record.weight, layer.weight.detach()) and torch.equal(record.bias, layer.bias.detach())
        assert all(e.shape == layer.weight.shape for e in record.weight_estimates)
        assert all(e.shape == layer.bias.shape for e in record.bias_estimates)
