"""LeNet5 with ReLU, as used by da Cunha et al. (seed 000), and with BatchNorm (seed 003's
question of how pruning at initialisation interacts with BatchNorm, on a small conv net)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, require_min_side, scaled


class LeNet5(nn.Sequential):
    """Conv 5x5 (pad 2) -> ReLU -> pool, twice, then dense -> 120 -> 84 -> classes.

    The pools floor odd sizes (as in seed 000), so the first dense layer reads
    ``16 * (H // 4) * (W // 4)`` features: 784 for 28x28 inputs. Needs H, W >= 4. With
    ``batchnorm`` every hidden conv and dense layer is followed by BatchNorm (before its
    ReLU); the layers keep their biases, so the weight layers are LeNet5's.
    """

    def __init__(self, input_shape: InputShape, num_classes: int, width: float = 1.0,
                 batchnorm: bool = False) -> None:
        require_min_side("lenet5", input_shape, 4, "two 2x2 max-pools")
        channels, height, side = input_shape
        conv1, conv2 = scaled(6, width), scaled(16, width)
        dense1, dense2 = scaled(120, width), scaled(84, width)
        flat = conv2 * (height // 4) * (side // 4)
        layers: list[tuple[str, nn.Module]] = [("conv1", nn.Conv2d(channels, conv1, kernel_size=5, padding=2))]
        layers += [("bn1", nn.BatchNorm2d(conv1))] if batchnorm else []
        layers += [("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                   ("conv2", nn.Conv2d(conv1, conv2, kernel_size=5, padding=2))]
        layers += [("bn2", nn.BatchNorm2d(conv2))] if batchnorm else []
        layers += [("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
                   ("fc1", nn.Linear(flat, dense1))]
        layers += [("bn3", nn.BatchNorm1d(dense1))] if batchnorm else []
        layers += [("relu3", nn.ReLU()), ("fc2", nn.Linear(dense1, dense2))]
        layers += [("bn4", nn.BatchNorm1d(dense2))] if batchnorm else []
        layers += [("relu4", nn.ReLU()), ("fc3", nn.Linear(dense2, num_classes))]
        super().__init__(OrderedDict(layers))


def lenet5(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build :class:`LeNet5`."""
    return LeNet5(input_shape, num_classes, width)


def lenet5_bn(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build :class:`LeNet5` with BatchNorm after every hidden layer."""
    return LeNet5(input_shape, num_classes, width, batchnorm=True)
