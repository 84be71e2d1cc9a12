"""CIFAR-style VGG with BatchNorm, global average pooling and one linear classifier."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, scaled

# Standard configurations A (11), D (16) and E (19); "M" is a 2x2 max-pool.
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
    ),
    "vgg19": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ),
}  # fmt: skip


class VGG(nn.Sequential):
    """[conv3x3 (pad 1, with bias) -> BN -> ReLU | max-pool]* -> global avg pool -> linear.

    Convs keep their bias, as in the common CIFAR code (kuangliu, OpenLTH), so VGG-16 has
    the usual 14,728,266 parameters for 10 classes. Pools use ``ceil_mode=True`` so that
    28x28 inputs survive all five (28 -> 14 -> 7 -> 4 -> 2 -> 1); identical to floor
    pooling on 32x32.
    """

    def __init__(
        self, input_shape: InputShape, num_classes: int, config: str, width: float = 1.0
    ) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_channels = input_shape[0]
        conv = pool = 0
        for item in CONFIGS[config]:
            if item == "M":
                pool += 1
                layers[f"pool{pool}"] = nn.MaxPool2d(2, ceil_mode=True)
                continue
            conv += 1
            out_channels = scaled(int(item), width)
            layers[f"conv{conv}"] = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
            layers[f"bn{conv}"] = nn.BatchNorm2d(out_channels)
            layers[f"relu{conv}"] = nn.ReLU()
            in_channels = out_channels
        layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(in_channels, num_classes)
        super().__init__(layers)


def vgg11(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build VGG-11 with BatchNorm."""
    return VGG(input_shape, num_classes, "vgg11", width)


def vgg16(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build VGG-16 with BatchNorm."""
    return VGG(input_shape, num_classes, "vgg16", width)


def vgg19(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build VGG-19 with BatchNorm."""
    return VGG(input_shape, num_classes, "vgg19", width)
