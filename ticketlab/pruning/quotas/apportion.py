"""Largest-remainder rounding of real-valued per-layer counts to exact integers."""

from __future__ import annotations

import math


def apportion(real_counts: dict[str, float], total: int, caps: dict[str, int]) -> dict[str, int]:
    """Integers summing exactly to ``total``, each in ``[0, caps[l]]``, close to ``real_counts``.

    Each layer first gets ``floor`` of its real count (clipped to its cap); the units
    still missing go one each to the largest fractional remainders (ties: layer order),
    then, only if caps cut real counts, evenly to layers with room. A surplus (possible
    only through float error) is taken from the smallest remainders. So when the real
    counts sum to ``total`` and respect the caps, every layer is within one of its count.
    """
    names = list(real_counts)
    if total < 0 or total > sum(caps[n] for n in names):
        raise ValueError(
            f"cannot keep {total} weights in layers holding {sum(caps[n] for n in names)}"
        )
    clipped = {n: min(max(float(real_counts[n]), 0.0), float(caps[n])) for n in names}
    counts = {n: min(int(math.floor(clipped[n])), caps[n]) for n in names}
    remainder = {n: clipped[n] - counts[n] for n in names}
    missing = total - sum(counts.values())
    by_remainder = sorted(names, key=lambda n: -remainder[n])  # stable: layer order on ties
    for n in by_remainder:
        if missing <= 0:
            break
        if counts[n] < caps[n]:
            counts[n] += 1
            missing -= 1
    while missing > 0:
        room = [n for n in by_remainder if counts[n] < caps[n]]
        share = max(missing // len(room), 1)
        for n in room:
            add = min(share, caps[n] - counts[n], missing)
            counts[n] += add
            missing -= add
    while missing < 0:
        for n in reversed(by_remainder):
            if missing >= 0:
                break
            if counts[n] > 0:
                counts[n] -= 1
                missing += 1
    return counts
