"""matplotlib without a display: the one place that picks its backend and saves figures.

A leaf module (it imports nothing from ticketlab), so run kinds can draw their own plots
without importing ``ticketlab.report``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (PNG files, no display needed)."""
    import matplotlib  # imported here: commands that draw nothing start without loading it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """``fig`` laid out and written to ``path`` (parents created), then closed; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)  # pyplot keeps every open figure alive; a sweep draws many
    return path
