"""Small networks whose dead weights are worked out by hand and written out."""

from __future__ import annotations

import torch
from torch import nn

from ticketlab.masks import Mask, effective_mask, effective_pass, full_mask
from ticketlab.models import build_model

T, F = True, False


def ones(*shape: int) -> torch.Tensor:
    return torch.ones(shape, dtype=torch.bool)


def tensor(values: object) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


def taps(alive: set[tuple[int, int]], size: int = 3) -> list[list[bool]]:
    return [[(y, x) in alive for x in range(size)] for y in range(size)]


def mlp_3_2_1(bias: bool) -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2, bias=bias), nn.ReLU(), nn.Linear(2, 1, bias=bias))


def test_unit_without_outgoing_weights_kills_its_incoming_weights() -> None:
    for bias in (False, True):
        mask = {"0.weight": ones(2, 3), "2.weight": tensor([[T, F]])}
        got = effective_mask(mlp_3_2_1(bias), mask, (3,))
        assert got["0.weight"].tolist() == [[T, T, T], [F, F, F]]
        assert got["2.weight"].tolist() == [[T, F]]


def test_unit_without_incoming_path_kills_its_outgoing_weights() -> None:
    # Hidden unit 1 keeps a bias (so it is not zero in the real network), but no input
    # reaches it: its outgoing weight, and its bias, are dead.
    mask = {
        "0.weight": tensor([[T, F, T], [F, F, F]]),
        "0.bias": ones(2),
        "2.weight": ones(1, 2),
        "2.bias": ones(1),
    }
    got = effective_mask(mlp_3_2_1(True), mask, (3,))
    assert got["0.weight"].tolist() == [[T, F, T], [F, F, F]]
    assert got["0.bias"].tolist() == [T, F]
    assert got["2.weight"].tolist() == [[T, F]]
    assert got["2.bias"].tolist() == [T]


def test_sigmoid_unit_without_input_is_dead_although_sigmoid_of_zero_is_half() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    mask = {"0.weight": tensor([[T, T], [F, F]]), "2.weight": ones(1, 2)}
    got = effective_mask(model, mask, (2,))
    assert got["2.weight"].tolist() == [[T, F]]


def test_layers_outside_the_mask_count_as_kept() -> None:
    # Only the last layer is masked; the first, unmasked, still connects every unit.
    mask = {"2.weight": ones(1, 2)}
    assert effective_mask(mlp_3_2_1(False), mask, (3,))["2.weight"].tolist() == [[T, T]]


def conv_probe(conv: nn.Conv2d, side: int) -> nn.Module:
    out = conv(torch.zeros(1, conv.in_channels, side, side)).numel()
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(out, 1))


def test_3x3_kernel_on_a_1x1_input_keeps_only_its_centre() -> None:
    model = conv_probe(nn.Conv2d(1, 1, 3, padding=1), 1)
    got = effective_mask(model, full_mask(model), (1, 1, 1))
    assert got["0.weight"][0, 0].tolist() == taps({(1, 1)})
    assert got["3.weight"].all()


def test_conv1d_with_adaptive_max_pool_on_a_single_sample() -> None:
    model = nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=1), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(3, 1)
    )
    mask = {"0.weight": ones(3, 2, 3), "3.weight": ones(1, 3)}  # Conv1d is not in full_mask
    got = effective_mask(model, mask, (2, 1))
    assert got["0.weight"].any(0).any(0).tolist() == [F, T, F]
    assert got["0.weight"][:, :, 1].all() and got["3.weight"].all()


def test_stride_2_on_a_2x2_input_never_uses_the_first_row_and_column() -> None:
    # Output 1x1 reads input rows/columns -1, 0, 1: taps in row 0 or column 0 see only
    # padding; the other four taps see real pixels.
    model = conv_probe(nn.Conv2d(1, 1, 3, stride=2, padding=1), 2)
    got = effective_mask(model, full_mask(model), (1, 2, 2))
    assert got["0.weight"][0, 0].tolist() == taps({(1, 1), (1, 2), (2, 1), (2, 2)})


def test_dead_pixels_propagate_to_the_next_kernel() -> None:
    # conv1 keeps only its top-left tap: output (y, x) reads input (y - 1, x - 1), real only
    # at (1, 1). conv2's tap (ky, kx) at output (y, x) reads (y + ky - 1, x + kx - 1), which
    # is the one live pixel (1, 1) only for ky, kx in {1, 2}; the other five taps are dead
    # although they do see real (unreached) pixels.
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1, bias=False),
        nn.Conv2d(1, 1, 3, padding=1, bias=False),
        nn.Flatten(),
        nn.Linear(4, 1),
    )
    first = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    first[0, 0, 0, 0] = True
    mask = {"0.weight": first, "1.weight": ones(1, 1, 3, 3), "3.weight": ones(1, 4)}
    got = effective_mask(model, mask, (1, 2, 2))
    assert got["0.weight"][0, 0].tolist() == taps({(0, 0)})
    assert got["1.weight"][0, 0].tolist() == taps({(1, 1), (1, 2), (2, 1), (2, 2)})
    assert got["3.weight"].tolist() == [[T, T, T, T]]


def test_max_pool_counts_every_element_of_its_window() -> None:
    # 2x2 kernel, padding 1, on a 2x2 input: 3x3 outputs, pooled to one. Every tap reads
    # a real pixel at some output, and every output is in the pool window: all alive.
    # (Max-pool's own gradient would reach only one output and keep only tap (1, 1).)
    model = nn.Sequential(
        nn.Conv2d(1, 1, 2, padding=1), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(1, 1)
    )
    got = effective_mask(model, full_mask(model), (1, 2, 2))
    assert got["0.weight"].all()


def test_grouped_conv_channels_follow_their_group() -> None:
    # conv a: 2 -> 4 channels with channels 2 and 3 cut off; grouped conv b (2 groups):
    # output channels 2, 3 read only channels 2, 3, so b's kernels for them are dead, and
    # so are the classifier's weights from them.
    model = nn.Sequential(
        nn.Conv2d(2, 4, 1, bias=False),
        nn.Conv2d(4, 4, 1, groups=2, bias=False),
        nn.Flatten(),
        nn.Linear(4, 1),
    )
    a = ones(4, 2, 1, 1)
    a[2:] = False
    mask = {"0.weight": a, "1.weight": ones(4, 2, 1, 1), "3.weight": ones(1, 4)}
    got = effective_mask(model, mask, (2, 1, 1))
    assert torch.equal(got["0.weight"], a)
    assert got["1.weight"].flatten(1).tolist() == [[T, T], [T, T], [F, F], [F, F]]
    assert got["3.weight"].tolist() == [[T, T, F, F]]


class ResidualMLP(nn.Module):
    """stem -> x + branch(x) with branch = b(relu(a(x))) -> head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.a = nn.Linear(4, 4)
        self.relu = nn.ReLU()
        self.b = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        return self.head(h + self.b(self.relu(self.a(h))))


def test_cut_residual_branch_dies_but_the_skip_keeps_the_rest_alive() -> None:
    model = ResidualMLP()
    mask = full_mask(model)
    mask["b.weight"] = torch.zeros(4, 4, dtype=torch.bool)
    got = effective_mask(model, mask, (3,))
    assert got["stem.weight"].all() and got["head.weight"].all()
    assert not got["a.weight"].any() and not got["b.weight"].any()


def test_cut_branch_in_resnet20() -> None:
    # At 8x8 every tap of every conv of ResNet-20 sees real pixels (stages 8, 4, 2), so
    # everything is alive except the first block's branch, cut at its second conv.
    model = build_model("resnet20", (3, 8, 8), 10, width=0.5)
    mask = full_mask(model)
    mask["layer1.0.conv2.weight"] = torch.zeros_like(mask["layer1.0.conv2.weight"])
    got = effective_mask(model, mask, (3, 8, 8))
    for name, entry in got.items():
        expect_dead = name in ("layer1.0.conv1.weight", "layer1.0.conv2.weight")
        assert bool(entry.any()) is not expect_dead, name
        assert bool(entry.all()) is not expect_dead, name


def test_network_cut_completely() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    mask: Mask = full_mask(model)
    mask["2.weight"] = torch.zeros(4, 4, dtype=torch.bool)
    result = effective_pass(model, mask, (3,))
    assert result.connected is False
    assert not any(entry.any() for entry in result.mask.values())
    assert effective_pass(model, full_mask(model), (3,)).connected is True
