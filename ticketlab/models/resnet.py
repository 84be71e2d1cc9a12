"""CIFAR ResNets: ResNet-20 (16/32/64 channels) and ResNet-18 without the ImageNet max-pool."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ticketlab.models.common import InputShape, scaled


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers and a skip; ReLU after the sum.

    The skip is the identity when the shape is kept, otherwise a 1x1 conv + BN projection
    (option B). Submodules are defined in data-flow order: residual branch, then shortcut.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            projection = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            self.shortcut = nn.Sequential(
                OrderedDict([("conv", projection), ("bn", nn.BatchNorm2d(out_channels))])
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in, H, W) -> (B, out, H / stride, W / stride)``."""
        out: torch.Tensor = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        summed: torch.Tensor = self.relu2(out + self.shortcut(x))
        return summed


class ResNet(nn.Sequential):
    """Stem conv3x3 (stride 1) + BN + ReLU, stages of :class:`BasicBlock`, avg pool, linear.

    Stage ``i > 0`` starts with stride 2. No convolution has a bias (BatchNorm follows).
    """

    def __init__(
        self,
        input_shape: InputShape,
        num_classes: int,
        channels: tuple[int, ...],
        blocks: tuple[int, ...],
        width: float = 1.0,
    ) -> None:
        widths = [scaled(c, width) for c in channels]
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv1"] = nn.Conv2d(input_shape[0], widths[0], 3, padding=1, bias=False)
        layers["bn1"] = nn.BatchNorm2d(widths[0])
        layers["relu"] = nn.ReLU()
        in_channels = widths[0]
        for stage, (out_channels, count) in enumerate(zip(widths, blocks, strict=True)):
            stage_blocks = []
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                stage_blocks.append(BasicBlock(in_channels, out_channels, stride))
                in_channels = out_channels
            layers[f"layer{stage + 1}"] = nn.Sequential(*stage_blocks)
        layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(in_channels, num_classes)
        super().__init__(layers)


def resnet20(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build ResNet-20: 3 stages x 3 blocks, 16/32/64 channels, 1x1 projection shortcuts."""
    return ResNet(input_shape, num_classes, (16, 32, 64), (3, 3, 3), width)


def resnet18(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build CIFAR ResNet-18: 4 stages x 2 blocks, 64/128/256/512 channels, no max-pool."""
    return ResNet(input_shape, num_classes, (64, 128, 256, 512), (2, 2, 2, 2), width)
