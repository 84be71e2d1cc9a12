"""Statistics over seeds: mean, sample standard deviation (ddof = 1), n, a Student-t interval.

A leaf module (it imports nothing from ticketlab and needs no scipy): the t quantile is the
inverse of the t distribution function, which is written with the regularised incomplete
beta function (Lentz's continued fraction) and inverted by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Up to this many values a summary also gives the 95% t interval (issue 16's rule).
INTERVAL_UP_TO = 5


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0 < p < 1, df > 0)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, high):
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class Summary:
    """n values: their mean, sample std (None for one value) and 95% t half-width (None for one)."""

    values: tuple[float, ...]
    mean: float
    std: float | None
    half_width: float | None

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% Student-t interval of the mean, or None for a single value."""
        if self.half_width is None:
            return None
        return self.mean - self.half_width, self.mean + self.half_width

    @property
    def spread(self) -> float:
        """Largest minus smallest value."""
        return max(self.values) - min(self.values)


def sample_std(values: Sequence[float]) -> float:
    """The sample standard deviation (ddof = 1); a ValueError for fewer than two values."""
    if len(values) < 2:
        raise ValueError("a sample standard deviation needs at least two values")
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarise(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean, sample std and the ``confidence`` t interval's half-width of ``values`` (at least one)."""
    if not values:
        raise ValueError("nothing to summarise")
    mean = math.fsum(values) / len(values)
    if len(values) < 2:
        return Summary(tuple(values), mean, None, None)
    std = sample_std(values)
    half = t_quantile(0.5 + confidence / 2.0, len(values) - 1) * std / math.sqrt(len(values))
    return Summary(tuple(values), mean, std, half)


def from_population_std(mean: float, pstdev: float, n: int) -> tuple[float, float | None, float | None]:
    """(mean, sample std, 95% half-width) of n values known only by their mean and population std."""
    if n < 2:
        return mean, None, None
    std = pstdev * math.sqrt(n / (n - 1))
    return mean, std, t_quantile(0.975, n - 1) * std / math.sqrt(n)


def pm(summary: Summary, *, scale: float = 100.0, digits: int = 2, interval_up_to: int = INTERVAL_UP_TO,
       per_value_above: float | None = 5.0) -> str:
    """``mean ± std`` (sample std), with ``[low, high]`` (95% t) for n <= ``interval_up_to``, and
    the values themselves, ``(a / b / c)``, when they span more than ``per_value_above`` (scaled)."""
    text = f"{scale * summary.mean:.{digits}f}"
    if summary.std is not None:
        text += f" ± {scale * summary.std:.{digits}f}"
    if summary.interval is not None and summary.n <= interval_up_to:
        low, high = summary.interval
        text += f" [{scale * low:.{digits}f}, {scale * high:.{digits}f}]"
    if per_value_above is not None and summary.n > 1 and scale * summary.spread > per_value_above:
        text += " (" + " / ".join(f"{scale * v:.{digits}f}" for v in summary.values) + ")"
    return text
