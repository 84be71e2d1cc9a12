"""Small helpers shared by the model families: width scaling and input-shape checks."""

from __future__ import annotations

import math

from ticketlab.errors import ConfigError

InputShape = tuple[int, int, int]


def scaled(units: int, width: float) -> int:
    """``units * width`` rounded half up, at least 1: the width of a scaled hidden layer."""
    return max(1, math.floor(units * width + 0.5))


def ceil_pooled(side: int, pools: int) -> int:
    """Side length after ``pools`` 2x2 max-pools with ``ceil_mode=True`` (never below 1)."""
    return -(-side // (1 << pools))


def require_min_side(model: str, input_shape: InputShape, min_side: int, why: str) -> None:
    """Raise a :class:`ConfigError` unless height and width are both at least ``min_side``."""
    _, height, width = input_shape
    if height < min_side or width < min_side:
        raise ConfigError(
            f"{model} needs inputs of at least {min_side}x{min_side} pixels ({why}); "
            f"got input shape {tuple(input_shape)}"
        )
