"""The 3-layer CNN of Burkholz (seed 001): conv 3x3 C->32, conv 3x3 32->32, linear."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, require_min_side, scaled


class CNN3(nn.Sequential):
    """Two unpadded 3x3 convs with ReLU, then one linear layer from 32 * (H-4) * (W-4).

    No padding: every kernel tap reads real pixels, which is what lets the strong
    constructions linearise a sigmoid here. Needs H, W >= 5.
    """

    def __init__(self, input_shape: InputShape, num_classes: int, width: float = 1.0) -> None:
        require_min_side("cnn3", input_shape, 5, "two unpadded 3x3 convolutions")
        channels, height, side = input_shape
        hidden = scaled(32, width)
        super().__init__(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(channels, hidden, kernel_size=3)),
                    ("relu1", nn.ReLU()),
                    ("conv2", nn.Conv2d(hidden, hidden, kernel_size=3)),
                    ("relu2", nn.ReLU()),
                    ("flatten", nn.Flatten()),
                    ("fc", nn.Linear(hidden * (height - 4) * (side - 4), num_classes)),
                ]
            )
        )


def cnn3(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build :class:`CNN3`."""
    return CNN3(input_shape, num_classes, width)
