"""Fully connected networks: LeNet-300-100."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ticketlab.models.common import InputShape, scaled


class LeNet300(nn.Sequential):
    """LeNet-300-100: flatten -> 300 -> 100 -> classes, ReLU between, with biases."""

    def __init__(self, input_shape: InputShape, num_classes: int, width: float = 1.0) -> None:
        channels, height, side = input_shape
        inputs = channels * height * side
        hidden1, hidden2 = scaled(300, width), scaled(100, width)
        super().__init__(
            OrderedDict(
                [
                    ("flatten", nn.Flatten()),
                    ("fc1", nn.Linear(inputs, hidden1)),
                    ("relu1", nn.ReLU()),
                    ("fc2", nn.Linear(hidden1, hidden2)),
                    ("relu2", nn.ReLU()),
                    ("fc3", nn.Linear(hidden2, num_classes)),
                ]
            )
        )


def lenet300(input_shape: InputShape, num_classes: int, width: float) -> nn.Module:
    """Build :class:`LeNet300`."""
    return LeNet300(input_shape, num_classes, width)
