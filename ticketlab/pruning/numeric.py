"""Bisection to float precision over non-negative floats."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable


def _bits(x: float) -> int:
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def _float(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<q", bits))[0])


def smallest_true(predicate: Callable[[float], bool], lo: float, hi: float) -> float:
    """The smallest float ``x`` in ``[lo, hi]`` with ``predicate(x)``, for 0 <= lo <= hi.

    ``predicate`` must be monotone (False then True) and True at ``hi``. Non-negative
    doubles sort like their bit patterns, so bisecting the bits halves the exponent
    range first: this is bisection in log space that ends on adjacent floats (at most 64
    steps), and the answer is a pure, monotone function of the predicate.
    """
    if not 0.0 <= lo <= hi:
        raise ValueError(f"need 0 <= lo <= hi, got lo={lo}, hi={hi}")
    if predicate(lo):
        return lo
    low, high = _bits(lo), _bits(hi)
    while high - low > 1:
        mid = (low + high) // 2
        if predicate(_float(mid)):
            high = mid
        else:
            low = mid
    return _float(high)


def previous_float(x: float) -> float:
    """The largest float below ``x``."""
    return math.nextafter(x, -math.inf)
