"""Every registered architecture: shapes, gradients, layer order, widths, parameter counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.models import MODELS, build_model, count_parameters

NAMES = MODELS.names()
SHAPES = [(1, 28, 28), (3, 32, 32), (3, 20, 20), (2, 9, 13)]


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Prunable layers by the package convention: Conv2d/Linear in named_modules order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def out_width(layer: nn.Module) -> int:
    return layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features


def test_all_families_registered() -> None:
    expected = {"lenet300", "lenet5", "lenet5-bn", "conv2", "conv4", "conv6", "conv8", "vgg11", "vgg16"}
    expected |= {"vgg19", "resnet20", "resnet18", "mobilenetv2", "cnn3"}
    assert set(NAMES) == expected
    assert all(entry.description for entry in MODELS)


@pytest.mark.parametrize("num_classes", [10, 7])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name: str, shape: tuple[int, int, int], num_classes: int) -> None:
    model = build_model(name, shape, num_classes, seed=1)
    x = torch.randn(2, *shape)
    out = model(x)
    assert out.shape == (2, num_classes)
    nn.functional.cross_entropy(out, torch.tensor([0, num_classes - 1])).backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name


@pytest.mark.parametrize("name", NAMES)
def test_second_derivatives(name: str) -> None:
    # GraSP needs Hessian-gradient products: no in-place op may break double backward.
    model = build_model(name, (3, 12, 12), 5, width=0.25)
    weights = [m.weight for _, m in weight_layers(model)]
    loss = nn.functional.cross_entropy(model(torch.randn(2, 3, 12, 12)), torch.tensor([1, 4]))
    grads = torch.autograd.grad(loss, weights, create_graph=True)
    dot = sum((g * torch.randn_like(g)).sum() for g in grads)
    hessian_products = torch.autograd.grad(dot, weights, allow_unused=True)
    assert all(h is None or torch.isfinite(h).all() for h in hessian_products)


@pytest.mark.parametrize("name", NAMES)
def test_weight_layers_listed_in_forward_order(name: str) -> None:
    model = build_model(name, (3, 20, 20), 7)
    layers = weight_layers(model)
    calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
    handles = [
        m.register_forward_hook(lambda mod, inp, out: calls.append((mod, inp[0], out)))
        for _, m in layers
    ]
    x = torch.randn(2, 3, 20, 20)
    out = model(x)
    for handle in handles:
        handle.remove()
    assert [id(m) for m, _, _ in calls] == [id(m) for _, m in layers]
    first, first_input, _ = calls[0]
    assert first_input.data_ptr() == x.data_ptr()  # reads the input (maybe flattened)
    last, _, last_output = calls[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 7
    assert last_output is out


# Conv/linear weight tensors per model, hand counted.
WEIGHT_LAYER_COUNTS = {
    "lenet300": 3,
    "lenet5": 5,  # 2 conv + 3 dense
    "lenet5-bn": 5,  # the same, BatchNorm adds none
    "conv2": 5,  # 2 conv + 3 dense
    "conv4": 7,
    "conv6": 9,
    "conv8": 11,
    "vgg11": 9,  # 8 conv + 1 linear
    "vgg16": 14,  # 13 conv + 1 linear
    "vgg19": 17,  # 16 conv + 1 linear
    "resnet20": 22,  # 1 stem + 9 blocks x 2 + 2 shortcut convs + 1 linear (Burkholz's 22)
    "resnet18": 21,  # 1 stem + 8 blocks x 2 + 3 shortcut convs + 1 linear
    # 1 stem + 17 blocks x 3 + 4 shortcut convs (stride 1, channels change: 32->16,
    # 16->24, 64->96, 160->320) + 1x1 conv to 1280 + linear
    "mobilenetv2": 58,
    "cnn3": 3,  # conv, conv, linear
}


@pytest.mark.parametrize("name", NAMES)
def test_weight_layer_count(name: str) -> None:
    assert len(weight_layers(build_model(name, (3, 32, 32), 10))) == WEIGHT_LAYER_COUNTS[name]


# Parameter counts (weights + biases + BatchNorm affine), from the literature or by hand.
PARAMETER_COUNTS = [
    # 784*300+300 = 235,500; 300*100+100 = 30,100; 100*10+10 = 1,010
    ("lenet300", (1, 28, 28), 266_610),
    # Not LeNet-5's 61,706 (that has no padding and 400 -> 120): here conv1 1*6*25+6 = 156,
    # conv2 6*16*25+16 = 2,416, fc 784*120+120 = 94,200, 120*84+84 = 10,164, 84*10+10 = 850.
    ("lenet5", (1, 28, 28), 107_786),
    # + BatchNorm affine 2 * (6 + 16 + 120 + 84) = 452
    ("lenet5-bn", (1, 28, 28), 108_238),
    # No biases. conv 3*64*9 = 1,728, 64*64*9 = 36,864; dense 64*16*16*256 = 4,194,304,
    # 256*256 = 65,536, 256*10 = 2,560 (edge-popup reports 4.3M).
    ("conv2", (3, 32, 32), 4_300_992),
    # + 64*128*9 = 73,728, 128*128*9 = 147,456; dense 128*8*8*256 = 2,097,152 (2.4M).
    ("conv4", (3, 32, 32), 2_425_024),
    # + 128*256*9 = 294,912, 256*256*9 = 589,824; dense 256*4*4*256 = 1,048,576 (2.3M).
    ("conv6", (3, 32, 32), 2_261_184),
    # + 256*512*9 = 1,179,648, 512*512*9 = 2,359,296; dense 512*2*2*256 = 524,288 (5.3M).
    ("conv8", (3, 32, 32), 5_275_840),
    # 28x28 through ceil-mode pools: 28 -> 14 -> 7 -> 4 -> 2, so dense 512*2*2*256 as on CIFAR;
    # the first conv reads 1 channel: 5,275,840 - 2*64*9 = 5,274,688.
    ("conv8", (1, 28, 28), 5_274_688),
    ("vgg16", (3, 32, 32), 14_728_266),  # kuangliu / OpenLTH cifar_vgg_16 (conv biases)
    ("resnet18", (3, 32, 32), 11_173_962),  # kuangliu ResNet18
    ("mobilenetv2", (3, 32, 32), 2_296_922),  # kuangliu MobileNetV2
    # stem 3*16*9 = 432 + BN 32
    # stage 1: 3 blocks x (2*16*16*9 + 2*32) = 3 x 4,672 = 14,016
    # stage 2: 16*32*9 + 32*32*9 + 2*64 + shortcut 16*32 + 64 = 14,528,
    #          + 2 x (2*32*32*9 + 2*64) = 2 x 18,560 -> 51,648
    # stage 3: 32*64*9 + 64*64*9 + 2*128 + shortcut 32*64 + 128 = 57,728,
    #          + 2 x (2*64*64*9 + 2*128) = 2 x 73,984 -> 205,696
    # linear 64*10+10 = 650. Total 272,474 (= 269,722 of option-A ResNet-20 + 2,752).
    ("resnet20", (3, 32, 32), 272_474),
]


@pytest.mark.parametrize(("name", "shape", "expected"), PARAMETER_COUNTS)
def test_parameter_count(name: str, shape: tuple[int, int, int], expected: int) -> None:
    assert count_parameters(build_model(name, shape, 10)) == expected


def test_lenet5_dense_input_is_16_quarter_sides() -> None:
    model = build_model("lenet5", (1, 28, 28), 10)
    assert model.fc1.in_features == 16 * 7 * 7 == 784
    assert build_model("lenet5", (3, 30, 23), 10).fc1.in_features == 16 * 7 * 5


@pytest.mark.parametrize("name", NAMES)
def test_width_halves_every_hidden_layer(name: str) -> None:
    full = weight_layers(build_model(name, (3, 32, 32), 10))
    half = weight_layers(build_model(name, (3, 32, 32), 10, width=0.5))
    assert [n for n, _ in full] == [n for n, _ in half]
    for (layer_name, f), (_, h) in zip(full[:-1], half[:-1], strict=True):
        assert out_width(h) == out_width(f) // 2, layer_name
    assert half[-1][1].out_features == 10
    assert half[0][1].weight.shape[1] == full[0][1].weight.shape[1]  # input unchanged


def test_lenet5_bn_normalises_every_hidden_layer() -> None:
    model = build_model("lenet5-bn", (1, 28, 28), 10)
    norms = [(n, m.num_features) for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert norms == [("bn1", 6), ("bn2", 16), ("bn3", 120), ("bn4", 84)]
    plain = build_model("lenet5", (1, 28, 28), 10, seed=0)
    assert [n for n, _ in weight_layers(model)] == [n for n, _ in weight_layers(plain)]


def test_width_examples() -> None:
    assert build_model("lenet300", (1, 28, 28), 10, width=0.5).fc2.out_features == 50
    assert build_model("resnet20", (3, 32, 32), 10, width=2.0).conv1.out_channels == 32
    assert build_model("vgg16", (3, 32, 32), 10, width=0.5).fc.in_features == 256
    assert build_model("mobilenetv2", (3, 32, 32), 10, width=0.5).conv2.out_channels == 640
    # round half up: 6 * 0.25 = 1.5 -> 2; at least one unit: 16 * 0.01 -> 1
    assert build_model("lenet5", (1, 28, 28), 10, width=0.25).conv1.out_channels == 2
    assert build_model("lenet5", (1, 28, 28), 10, width=0.01).conv2.out_channels == 1


@pytest.mark.parametrize("name", NAMES)
def test_tiny_width_still_runs(name: str) -> None:
    model = build_model(name, (3, 16, 16), 3, width=0.001)
    # every hidden width rounds to 1 unit; MobileNetV2's expanded layers are 6 x 1
    assert {out_width(m) for _, m in weight_layers(model)[:-1]} <= {1, 6}
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 3)


# Smallest side each model accepts: the ceil-mode pools and stride-2 convs never reach 0.
MIN_SIDE = {name: 1 for name in NAMES} | {"lenet5": 4, "lenet5-bn": 4, "cnn3": 5}


@pytest.mark.parametrize("name", NAMES)
def test_smallest_input_runs(name: str) -> None:
    side = MIN_SIDE[name]
    model = build_model(name, (2, side, side), 4)
    assert model(torch.randn(2, 2, side, side)).shape == (2, 4)
