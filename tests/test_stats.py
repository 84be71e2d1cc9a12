"""Statistics over seeds against hand-computed values and closed forms of the t quantile."""

from __future__ import annotations

import math

import pytest

from ticketlab.stats import from_population_std, incomplete_beta, pm, sample_std, summarise, t_quantile


def test_three_seeds_by_hand() -> None:
    # [1, 2, 4]: mean 7/3; squared deviations 16/9 + 1/9 + 25/9 = 42/9, over n - 1 = 2: 7/3.
    s = summarise([1.0, 2.0, 4.0])
    assert s.n == 3 and s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(7 / 3)) and round(s.std, 4) == 1.5275
    # t(0.975, 2) = 4.3027 (closed form below); half-width 4.3027 * 1.5275 / sqrt(3) = 3.7946.
    assert round(s.half_width, 4) == 3.7946
    assert s.interval == pytest.approx((7 / 3 - s.half_width, 7 / 3 + s.half_width))
    assert sample_std([1.0, 2.0, 4.0]) == pytest.approx(math.sqrt(7 / 3))


def test_t_quantile_closed_forms() -> None:
    for p in (0.6, 0.9, 0.975, 0.995):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)  # Cauchy
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
        alpha = 4 * p * (1 - p)  # df = 4: 2 sqrt(q - 1), q = cos(arccos(sqrt(alpha)) / 3) / sqrt(alpha)
        q = math.cos(math.acos(math.sqrt(alpha)) / 3) / math.sqrt(alpha)
        assert t_quantile(p, 4) == pytest.approx(2 * math.sqrt(q - 1), rel=1e-9)
    assert t_quantile(0.025, 2) == pytest.approx(-t_quantile(0.975, 2))


@pytest.mark.parametrize(("df", "table"), [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (5, 2.5706),
                                           (10, 2.2281), (30, 2.0423), (10_000, 1.9602)])
def test_t_quantile_against_printed_tables(df: int, table: float) -> None:
    assert round(t_quantile(0.975, df), 4) == table


def test_incomplete_beta_closed_forms() -> None:
    assert incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)
    assert incomplete_beta(2, 1, 0.3) == pytest.approx(0.09)
    assert incomplete_beta(0.5, 0.5, 0.25) == pytest.approx(2 / math.pi * math.asin(0.5))


def test_one_value_has_no_spread_and_nothing_is_an_error() -> None:
    s = summarise([0.5])
    assert (s.std, s.half_width, s.interval) == (None, None, None)
    assert pm(s) == "50.00"
    with pytest.raises(ValueError):
        summarise([])
    with pytest.raises(ValueError):
        sample_std([1.0])


def test_pm_shows_interval_and_values_when_they_disagree() -> None:
    # zhang2021's IMC-slow at 0.78%: 82.0, 10.0, 76.2 -> mean 56.07, sample std 40.00.
    text = pm(summarise([0.82, 0.10, 0.762]))
    assert text.startswith("56.07 ± 40.00 [") and text.endswith("(82.00 / 10.00 / 76.20)")
    assert pm(summarise([0.80, 0.81])) == "80.50 ± 0.71 [74.15, 86.85]"  # 0.7071 * 12.7062 / sqrt(2) = 6.353
    assert "[" not in pm(summarise([0.8] * 6 + [0.81]))  # more than 5 values: no interval


def test_from_population_std() -> None:
    # pstdev of [1, 2, 4] is sqrt(14/9); the sample std is sqrt(7/3).
    mean, std, half = from_population_std(7 / 3, math.sqrt(14 / 9), 3)
    assert std == pytest.approx(math.sqrt(7 / 3)) and half == pytest.approx(summarise([1.0, 2.0, 4.0]).half_width)
