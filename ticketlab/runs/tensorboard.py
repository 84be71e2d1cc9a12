"""TensorBoard event files as an optional sink of every run's per-epoch metrics.

With ``--tensorboard DIR`` every training unit (a run, a lottery level or branch, an
annealing step) writes its epoch metrics to ``DIR/<run directory>/<unit>`` as scalars
at the optimizer step, beside metrics.jsonl (which stays the record). Needs the
``tensorboard`` package (``pip install 'ticketlab[tensorboard]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ticketlab.errors import ConfigError

SCALARS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr")


def check_tensorboard() -> None:
    """A one-line error unless the tensorboard package can be imported."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        raise ConfigError("--tensorboard needs the tensorboard package: pip install 'ticketlab[tensorboard]'") from None


class TensorBoardSink:
    """Writes one unit's epoch rows as scalars; the writer opens on the first row."""

    def __init__(self, root: str | Path, name: str) -> None:
        self.path = Path(root) / name
        self._writer: Any = None

    def add(self, row: dict[str, Any]) -> None:
        """Every numeric metric of ``row`` (an epoch of metrics.jsonl) at its step."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.path))
        for key in SCALARS:
            if row.get(key) is not None:
                self._writer.add_scalar(key, float(row[key]), global_step=int(row["step"]))
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
