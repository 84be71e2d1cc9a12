"""Conv-2/4/6/8 of edge-popup (Ramanujan et al.): bias-free 3x3 convs, then dense 256-256."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, ceil_pooled, scaled

PAIR_CHANNELS = (64, 128, 256, 512)


class ConvNet(nn.Sequential):
    """``pairs`` blocks of [conv3x3, ReLU, conv3x3, ReLU, max-pool 2], then 256-256-classes.

    No layer has a bias. The pools use ``ceil_mode=True`` so any input of at least 1x1
    survives all of them (a trailing odd row or column is pooled, not dropped); for sides
    divisible by ``2**pairs`` this is identical to the usual floor pooling.
    """

    def __init__(
        self, input_shape: InputShape, num_classes: int, pairs: int, width: float = 1.0
    ) -> None:
        channels, height, side = input_shape
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = channels
        for pair in range(pairs):
            out_channels = scaled(PAIR_CHANNELS[pair], width)
            for half in (1, 2):
                index = 2 * pair + half
                layers[f"conv{index}"] = nn.Conv2d(
                    in_channels, out_channels, kernel_size=3, padding=1, bias=False
                )
                layers[f"relu{index}"] = nn.ReLU()
                in_channels = out_channels
            layers[f"pool{pair + 1}"] = nn.MaxPool2d(2, ceil_mode=True)
        flat = in_channels * ceil_pooled(height, pairs) * ceil_pooled(side, pairs)
        dense = scaled(256, width)
        layers["flatten"] = nn.Flatten()
        layers["fc1"] = nn.Linear(flat, dense, bias=False)
        layers["fc_relu1"] = nn.ReLU()
        layers["fc2"] = nn.Linear(dense, dense, bias=False)
        layers["fc_relu2"] = nn.ReLU()
        layers["fc3"] = nn.Linear(dense, num_classes, bias=False)
        super().__init__(layers)


def conv2(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build Conv-2 (64, 64, pool)."""
    return ConvNet(input_shape, num_classes, 1, width)


def conv4(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build Conv-4 (64, 64, pool, 128, 128, pool)."""
    return ConvNet(input_shape, num_classes, 2, width)


def conv6(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build Conv-6 (Conv-4 plus 256, 256, pool)."""
    return ConvNet(input_shape, num_classes, 3, width)


def conv8(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build Conv-8 (Conv-6 plus 512, 512, pool)."""
    return ConvNet(input_shape, num_classes, 4, width)
