"""MobileNetV2, CIFAR variant (stride-1 stem, kuangliu's configuration and shortcuts)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ticketlab.models.common import InputShape, scaled

# (expansion t, output channels c, blocks n, first stride s); stage 2 has s = 1 for CIFAR.
CONFIG: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    """1x1 expand + BN + ReLU, 3x3 depthwise + BN + ReLU, 1x1 project + BN, then a skip.

    As in kuangliu's code: the expansion conv exists even when t = 1; at stride 1 the skip
    is the identity if channels match, else a 1x1 conv + BN; at stride 2 there is no skip.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: int, stride: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.stride = stride
        self.conv1 = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(
            hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False
        )
        self.bn2 = nn.BatchNorm2d(hidden)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride == 1 and in_channels != out_channels:
            projection = nn.Conv2d(in_channels, out_channels, 1, bias=False)
            self.shortcut = nn.Sequential(
                OrderedDict([("conv", projection), ("bn", nn.BatchNorm2d(out_channels))])
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in, H, W) -> (B, out, H / stride, W / stride)``."""
        out: torch.Tensor = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + self.shortcut(x) if self.stride == 1 else out


class MobileNetV2(nn.Sequential):
    """Stem conv3x3 (stride 1, 32) + BN + ReLU, inverted residuals, 1x1 conv to 1280 + BN
    + ReLU, global average pool, linear. ``width`` scales every channel count, 1280 included.
    """

    def __init__(self, input_shape: InputShape, num_classes: int, width: float = 1.0) -> None:
        stem, last = scaled(32, width), scaled(1280, width)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv1"] = nn.Conv2d(input_shape[0], stem, 3, padding=1, bias=False)
        layers["bn1"] = nn.BatchNorm2d(stem)
        layers["relu1"] = nn.ReLU()
        blocks = []
        in_channels = stem
        for expansion, channels, count, first_stride in CONFIG:
            out_channels = scaled(channels, width)
            for index in range(count):
                stride = first_stride if index == 0 else 1
                blocks.append(InvertedResidual(in_channels, out_channels, expansion, stride))
                in_channels = out_channels
        layers["layers"] = nn.Sequential(*blocks)
        layers["conv2"] = nn.Conv2d(in_channels, last, 1, bias=False)
        layers["bn2"] = nn.BatchNorm2d(last)
        layers["relu2"] = nn.ReLU()
        layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(last, num_classes)
        super().__init__(layers)


def mobilenetv2(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build CIFAR MobileNetV2."""
    return MobileNetV2(input_shape, num_classes, width)
