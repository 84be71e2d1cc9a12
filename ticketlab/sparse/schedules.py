"""When and how far masks move: Zhu & Gupta's cubic sparsity schedule and RigL's cosine drop fraction.

Steps count finished optimizer steps: step ``t`` is the moment after the t-th update, so
step 0 is before training and a run of T steps ends at step T.
"""

from __future__ import annotations

import math


def step_at(fraction: float, total_steps: int) -> int:
    """The step at ``fraction`` of a run of ``total_steps`` (rounded to the nearest)."""
    return int(round(fraction * total_steps))


def cubic_sparsity(step: int, *, initial: float, final: float, start: int, end: int) -> float:
    """Zhu & Gupta (2017): s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3, with n dt = end - start.

    ``initial`` before ``start``, ``final`` from ``end`` on (also when ``start == end``).
    """
    if step <= start:
        return initial if step < end else final
    if step >= end:
        return final
    progress = (step - start) / (end - start)
    return final + (initial - final) * (1.0 - progress) ** 3


def gmp_prunes_at(step: int, *, start: int, end: int, every: int) -> bool:
    """Whether gradual magnitude pruning prunes at ``step``: start + k * every (k >= 1) before end, and end.

    Not at ``start`` itself, where the schedule is still at its initial sparsity (the
    initial mask's), unless start == end; never at step 0 (the initial mask) or past ``end``.
    """
    if step <= 0 or step > end:
        return False
    if step == end:
        return True
    return step > start and (step - start) % every == 0


def cosine_drop_fraction(step: int, *, initial: float, end: int) -> float:
    """RigL's drop fraction: initial / 2 * (1 + cos(pi t / T_end)) before ``end``, 0 from it on."""
    if step >= end or end <= 0:
        return 0.0
    return initial / 2.0 * (1.0 + math.cos(math.pi * step / end))


def updates_at(step: int, *, every: int, end: int) -> bool:
    """Whether SET or RigL moves the mask at ``step``: every ``every`` steps, strictly before ``end``."""
    return 0 < step < end and step % every == 0
