"""Files a command writes about a finished run beside its closing table (a lottery's plot).

Keyed by run kind; a kind without an entry has its table only. Reports live here, above
the runs layer, so that runs never import report code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ticketlab.registry import Registry

RunReport = Callable[[Any], list[tuple[str, Path]]]


def lottery_plot(result: Any) -> list[tuple[str, Path]]:
    """Accuracy against % of weights remaining, trunk and branches: ``<lottery>/lottery.png``."""
    from ticketlab.report.lottery_report import group_settings, plot_lotteries

    run_dir = Path(result.run_dir)
    return [("plot", plot_lotteries(group_settings([run_dir]), run_dir / "lottery.png"))]


RUN_REPORTS: Registry[RunReport] = Registry("run report")
RUN_REPORTS.add("lottery", lottery_plot)
