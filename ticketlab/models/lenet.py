"""LeNet5 with ReLU, as used by da Cunha et al. (seed 000)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, require_min_side, scaled


class LeNet5(nn.Sequential):
    """Conv 5x5 (pad 2) -> ReLU -> pool, twice, then dense -> 120 -> 84 -> classes.

    The pools floor odd sizes (as in seed 000), so the first dense layer reads
    ``16 * (H // 4) * (W // 4)`` features: 784 for 28x28 inputs. Needs H, W >= 4.
    """

    def __init__(self, input_shape: InputShape, num_classes: int, width: float = 1.0) -> None:
        require_min_side("lenet5", input_shape, 4, "two 2x2 max-pools")
        channels, height, side = input_shape
        conv1, conv2 = scaled(6, width), scaled(16, width)
        dense1, dense2 = scaled(120, width), scaled(84, width)
        flat = conv2 * (height // 4) * (side // 4)
        super().__init__(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(channels, conv1, kernel_size=5, padding=2)),
                    ("relu1", nn.ReLU()),
                    ("pool1", nn.MaxPool2d(2)),
                    ("conv2", nn.Conv2d(conv1, conv2, kernel_size=5, padding=2)),
                    ("relu2", nn.ReLU()),
                    ("pool2", nn.MaxPool2d(2)),
                    ("flatten", nn.Flatten()),
                    ("fc1", nn.Linear(flat, dense1)),
                    ("relu3", nn.ReLU()),
                    ("fc2", nn.Linear(dense1, dense2)),
                    ("relu4", nn.ReLU()),
                    ("fc3", nn.Linear(dense2, num_classes)),
                ]
            )
        )


def lenet5(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build :class:`LeNet5`."""
    return LeNet5(input_shape, num_classes, width)
