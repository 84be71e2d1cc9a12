"""Weight initialisations: exact values for signed-constant, statistics for Kaiming."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ticketlab.models import INITS, build_model
from ticketlab.models.mlp import LeNet300
from ticketlab.seeding import seeded

NON_DEFAULT = ["kaiming-normal", "kaiming-uniform", "signed-constant"]


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def expected_fan_in(layer: nn.Module) -> int:
    """Hand-written: in_features, or in_channels / groups * kernel area."""
    if isinstance(layer, nn.Linear):
        return layer.in_features
    kh, kw = layer.kernel_size
    return layer.in_channels // layer.groups * kh * kw


def test_registered_inits() -> None:
    assert INITS.names() == ["default", *NON_DEFAULT]
    assert all(entry.description for entry in INITS)


def test_default_is_pytorch_init() -> None:
    model = build_model("lenet300", (1, 28, 28), 10, seed=4)
    with seeded(4):
        plain = LeNet300((1, 28, 28), 10)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), plain.parameters(), strict=True)
    )
    assert model.fc1.bias.abs().sum() > 0  # PyTorch's default biases are not zero


@pytest.mark.parametrize("name", ["lenet5", "mobilenetv2", "conv4"])
def test_signed_constant_is_exact(name: str) -> None:
    model = build_model(name, (3, 32, 32), 10, init="signed-constant", seed=2)
    for layer_name, layer in weight_layers(model):
        magnitude = torch.tensor(math.sqrt(2.0 / expected_fan_in(layer)), dtype=torch.float32)
        assert torch.equal(layer.weight.abs(), magnitude.expand_as(layer.weight)), layer_name
        assert (layer.weight > 0).any() and (layer.weight < 0).any(), layer_name
        if layer.bias is not None:
            assert torch.equal(layer.bias, torch.zeros_like(layer.bias)), layer_name


def test_signed_constant_signs_are_fair() -> None:
    weight = build_model("lenet300", (1, 28, 28), 10, init="signed-constant").fc1.weight
    positive = (weight > 0).float().mean().item()
    assert abs(positive - 0.5) < 0.01  # 235,200 fair coins: std of the mean ~0.001


@pytest.mark.parametrize("init", ["kaiming-normal", "kaiming-uniform"])
def test_kaiming_std_on_large_layer(init: str) -> None:
    model = build_model("lenet300", (1, 28, 28), 10, init=init, seed=0)
    weight = model.fc1.weight  # 300 x 784 = 235,200 samples; std error of std ~0.15%
    target = math.sqrt(2.0 / 784)
    assert abs(weight.std().item() / target - 1) < 0.02
    assert abs(weight.mean().item()) < 0.02 * target
    if init == "kaiming-uniform":
        assert weight.abs().max().item() <= math.sqrt(6.0 / 784)


@pytest.mark.parametrize("init", ["kaiming-normal", "kaiming-uniform"])
def test_kaiming_zero_biases(init: str) -> None:
    for name in ["lenet5", "vgg11"]:
        model = build_model(name, (3, 32, 32), 10, init=init)
        biases = [m.bias for _, m in weight_layers(model) if m.bias is not None]
        assert biases and all(torch.equal(b, torch.zeros_like(b)) for b in biases)


@pytest.mark.parametrize("init", NON_DEFAULT)
def test_batchnorm_reset_to_identity(init: str) -> None:
    model = build_model("resnet20", (3, 32, 32), 10)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.uniform_(2, 3)
            norm.bias.uniform_(2, 3)
    INITS.get(init)(model)
    for norm in norms:
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        assert torch.equal(norm.bias, torch.zeros_like(norm.bias))


@pytest.mark.parametrize("init", NON_DEFAULT)
def test_inits_draw_from_global_rng(init: str) -> None:
    model = build_model("lenet5", (1, 28, 28), 10)
    torch.manual_seed(11)
    INITS.get(init)(model)
    first = [p.clone() for p in model.parameters()]
    torch.manual_seed(11)
    INITS.get(init)(model)
    assert all(torch.equal(p, q) for p, q in zip(first, model.parameters(), strict=True))
