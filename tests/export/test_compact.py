"""Compaction against hand-made tickets whose dead units are known, and outputs of the masked network."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.export import compact_model
from ticketlab.export.modules import BiasMapped, module_from_spec, module_spec
from ticketlab.masks import apply_mask, full_mask


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check_same(model: nn.Module, mask: dict[str, torch.Tensor], shape: tuple[int, ...]) -> nn.Module:
    apply_mask(model, mask)
    model.eval()
    compact = compact_model(model, mask, shape)
    x = torch.randn(16, *shape, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected, got = model(x), compact.module(x)
    assert torch.allclose(got, expected, atol=1e-6, rtol=1e-5)
    return compact


def _randomise_norms(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(7)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=gen))
            module.running_var.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
            module.weight.data.copy_(torch.randn(module.num_features, generator=gen))
            module.bias.data.copy_(torch.randn(module.num_features, generator=gen).abs() + 0.1)


def test_mlp_dead_units_are_cut_and_their_constants_folded() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    mask = full_mask(model)
    mask["1.weight"][0, :] = False  # unit 0 of fc1: no input reaches it -> the constant relu(0.7)
    model[1].bias.data[0] = 0.7
    mask["3.weight"][:, 4] = False  # unit 4 of fc1: nothing reads it
    mask["3.weight"][2, :] = False  # unit 2 of fc2: constant relu(0.4), read by fc3
    model[3].bias.data[2] = 0.4
    compact = _check_same(model, mask, (4,))
    cut = {layer.name: layer for layer in compact.layers}
    assert (cut["1"].kept_units, cut["1"].units, cut["1"].kept_inputs) == (3, 5, 4)
    assert (cut["3"].kept_units, cut["3"].kept_inputs, cut["3"].folded) == (2, 3, "bias")
    assert (cut["5"].kept_units, cut["5"].kept_inputs, cut["5"].folded) == (2, 2, "bias")
    # fc1 4->3, fc2 3->2, fc3 2->2, each with its bias
    assert _params(compact.module) == (3 * 4 + 3) + (2 * 3 + 2) + (2 * 2 + 2)


def test_cnn_constant_channel_into_padded_conv_becomes_a_map() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 2 * 2, 2))
    mask = full_mask(model)
    mask["0.weight"][1] = False  # channel 1: the constant relu(0.5) everywhere ...
    model[0].bias.data[1] = 0.5  # ... which a padded conv sees differently at the borders
    mask["6.weight"][:, 12:16] = False  # channel 3 of conv2: the linear layer reads none of its 4 features
    compact = _check_same(model, mask, (1, 4, 4))
    cut = {layer.name: layer for layer in compact.layers}
    assert (cut["0"].kept_units, cut["2"].kept_inputs, cut["2"].kept_units, cut["2"].folded) == (2, 2, 3, "map")
    assert (cut["6"].kept_inputs, cut["6"].inputs) == (12, 16)
    assert isinstance(compact.module[2], BiasMapped) and compact.module[2].bias_map.shape == (3, 4, 4)
    assert _params(compact.module) == (2 * 9 + 2) + (3 * 2 * 9 + 3) + (2 * 12 + 2)


class TinyResidual(nn.Module):
    """Stem conv + BN, one residual block (two convs with BN, identity skip), pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn0 = nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv_a, self.bn_a = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv_b, self.bn_b = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn0(self.stem(x)))
        out = self.bn_b(self.conv_b(F.relu(self.bn_a(self.conv_a(h)))))
        return self.fc(torch.flatten(self.pool(F.relu(out + h)), 1))


def test_residual_channels_are_cut_on_both_sides_of_the_sum_only_when_dead_on_both() -> None:
    torch.manual_seed(2)
    model = TinyResidual()
    _randomise_norms(model)
    mask = full_mask(model)
    # channel 3 of the residual stream: dead in the stem, in conv_b, and read by nobody
    mask["stem.weight"][3] = False
    mask["conv_b.weight"][3] = False
    mask["conv_a.weight"][:, 3] = False
    mask["fc.weight"][:, 3] = False
    mask["conv_b.weight"][2] = False  # channel 2: dead in the branch, alive through the skip -> kept
    mask["conv_a.weight"][1] = False  # conv_a's channel 1: the constant relu(bn_a(0)), fed into padded conv_b
    compact = _check_same(model, mask, (1, 6, 6))
    cut = {layer.name: layer for layer in compact.layers}
    assert (cut["stem"].kept_units, cut["conv_b"].kept_units, cut["fc"].kept_inputs) == (3, 3, 3)
    assert (cut["conv_a"].kept_inputs, cut["conv_a"].kept_units) == (3, 3)
    assert (cut["conv_b"].kept_inputs, cut["conv_b"].folded) == (3, "map")
    net = compact.module
    assert net.bn0.num_features == net.bn_b.num_features == net.bn_a.num_features == 3
    assert net.bn0.running_mean.shape == (3,)
    bn = 2 * 3
    assert _params(net) == 27 + bn + 81 + bn + 81 + bn + (3 * 3 + 3)


def test_nothing_dead_leaves_the_network_as_it_was() -> None:
    torch.manual_seed(3)
    model = TinyResidual()
    _randomise_norms(model)
    compact = _check_same(model, full_mask(model), (1, 5, 5))
    assert _params(compact.module) == _params(model)
    assert all(c.kept_units == c.units and c.kept_inputs == c.inputs and not c.folded for c in compact.layers)


def test_the_input_model_is_not_modified() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    mask = full_mask(model)
    mask["0.weight"][1] = False
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compact_model(model, mask, (3,))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class Concat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.fc = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.cat([self.a(x), self.b(x)], dim=1))


def test_an_operation_it_cannot_follow_is_a_config_error() -> None:
    model = Concat()
    with pytest.raises(ConfigError, match="cannot compact.*cat"):
        compact_model(model, full_mask(model), (3,))


@pytest.mark.parametrize("module", [
    nn.Linear(3, 2), nn.Linear(3, 2, bias=False), nn.Conv2d(2, 5, (3, 1), stride=2, padding=(1, 0), bias=False),
    nn.BatchNorm2d(4), nn.BatchNorm1d(3, eps=1e-3), BiasMapped(nn.Conv2d(1, 2, 3), (2, 4, 4)),
])
def test_specs_rebuild_modules_of_the_same_shapes(module: nn.Module) -> None:
    rebuilt = module_from_spec(module_spec(module))
    assert type(rebuilt) is type(module)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in module.state_dict().items()}
    rebuilt.load_state_dict(module.state_dict())


@pytest.mark.parametrize("name", ["lenet5-bn", "resnet20", "mobilenetv2", "vgg11", "cnn3"])
def test_registry_models_compact_to_the_same_function(name: str) -> None:
    from ticketlab.masks import uniform_random_mask
    from ticketlab.models import build_model

    shape = (3, 16, 16)
    model = build_model(name, shape, 10, seed=0, **({} if name in ("lenet5-bn", "cnn3") else {"width": 0.25}))
    _randomise_norms(model)
    mask = uniform_random_mask(full_mask(model), 0.8, torch.Generator().manual_seed(1))
    compact = _check_same(model, mask, shape)
    assert _params(compact.module) <= _params(model)


def test_a_depthwise_convolution_is_kept_whole() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, groups=4),
                          nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    mask = full_mask(model)
    mask["0.weight"][2] = False  # feeds the depthwise conv: its channel stays
    compact = _check_same(model, mask, (1, 5, 5))
    assert compact.module[2].weight.shape == (4, 1, 3, 3) and compact.module[0].out_channels == 4


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.fc(x)))


def test_a_layer_called_twice_is_a_config_error() -> None:
    model = Shared()
    with pytest.raises(ConfigError, match="called more than once"):
        compact_model(model, full_mask(model), (3,))
