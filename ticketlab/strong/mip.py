"""The MIP backend of the subset-sum solver: HiGHS through ``highspy`` (an optional extra)."""

from __future__ import annotations

from collections.abc import Sequence

from ticketlab.errors import ConfigError


def solve_one(target: float, candidates: Sequence[float], time_limit: float = 60.0) -> list[bool]:
    """The subset of ``candidates`` closest to ``target``, as a HiGHS mixed-integer program.

    Variables x_1..x_n binary and e >= 0; minimise e with e >= sum(a x) - t and
    e >= t - sum(a x). Solver values are rounded to 0/1 (never fractional masks).
    """
    try:
        import highspy
    except ImportError:
        raise ConfigError("the mip solver needs highspy: pip install 'ticketlab[mip]'") from None
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("mip_rel_gap", 0.0)
    n = len(candidates)
    inf = highspy.kHighsInf
    # Columns 0..n-1: x (binary); column n: e.
    for _ in range(n):
        h.addVar(0.0, 1.0)
    h.addVar(0.0, inf)
    h.changeColsIntegrality(n, list(range(n)), [highspy.HighsVarType.kInteger] * n)
    h.changeColCost(n, 1.0)
    index = list(range(n)) + [n]
    # sum(a x) - e <= t   and   sum(a x) + e >= t
    h.addRow(-inf, target, n + 1, index, list(candidates) + [-1.0])
    h.addRow(target, inf, n + 1, index, list(candidates) + [1.0])
    h.run()
    values = h.getSolution().col_value
    return [v > 0.5 for v in values[:n]]
