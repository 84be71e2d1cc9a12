"""Direct against effective sparsity, per layer and in total, as data, JSON and a table."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from ticketlab.masks.effective import UnsupportedModelError, effective_pass
from ticketlab.masks.mask import Mask
from ticketlab.text import format_table, percent


def _compression(kept: int, total: int) -> float:
    """``total / kept`` (1 / density); ``inf`` when nothing is kept, 1.0 for an empty layer."""
    if total == 0:
        return 1.0
    return total / kept if kept else math.inf


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


class _Counts:
    """Arithmetic shared by a layer row and the totals: needs ``total``, ``kept``, ``effective_kept``."""

    total: int
    kept: int
    effective_kept: int

    @property
    def direct_density(self) -> float:
        return self.kept / self.total if self.total else 1.0

    @property
    def effective_density(self) -> float:
        return self.effective_kept / self.total if self.total else 1.0

    @property
    def direct_sparsity(self) -> float:
        return 1.0 - self.direct_density

    @property
    def effective_sparsity(self) -> float:
        """Pruned or dead: always >= ``direct_sparsity``."""
        return 1.0 - self.effective_density

    @property
    def direct_compression(self) -> float:
        """``total / kept``; ``inf`` when nothing is kept."""
        return _compression(self.kept, self.total)

    @property
    def effective_compression(self) -> float:
        """``total / effective_kept``; ``inf`` when nothing is active."""
        return _compression(self.effective_kept, self.total)

    def _numbers(self) -> dict[str, object]:
        return {
            "total": self.total,
            "kept": self.kept,
            "effective_kept": self.effective_kept,
            "direct_sparsity": self.direct_sparsity,
            "effective_sparsity": self.effective_sparsity,
            # JSON has no infinity: "nothing kept" is written as null.
            "direct_compression": _json_number(self.direct_compression),
            "effective_compression": _json_number(self.effective_compression),
        }


@dataclass(frozen=True)
class EffectiveLayerStats(_Counts):
    """One mask entry: ``kept`` entries of ``total``, of which ``effective_kept`` are active."""

    name: str
    shape: tuple[int, ...]
    total: int
    kept: int
    effective_kept: int

    def as_dict(self) -> dict[str, object]:
        """JSON-safe: compressions are ``None`` where infinite."""
        return {"name": self.name, "shape": list(self.shape), **self._numbers()}


@dataclass(frozen=True)
class EffectiveReport(_Counts):
    """Per-layer rows, totals over the whole mask, and whether any input-output path is left.

    ``disconnected`` is True when the input reaches no output unit at all; then nothing is
    active and the effective sparsity is 1. (When the mask covers every Conv/Linear layer
    this is the same as ``effective_kept == 0``; with layers left out of the mask, paths
    through those layers alone still count as connections.)
    """

    layers: tuple[EffectiveLayerStats, ...]
    disconnected: bool

    @property
    def total(self) -> int:  # type: ignore[override]
        return sum(layer.total for layer in self.layers)

    @property
    def kept(self) -> int:  # type: ignore[override]
        return sum(layer.kept for layer in self.layers)

    @property
    def effective_kept(self) -> int:  # type: ignore[override]
        return sum(layer.effective_kept for layer in self.layers)

    def as_dict(self) -> dict[str, object]:
        """Totals at the top level, then ``disconnected`` and ``layers`` (one dict per row).

        JSON-safe: compressions are ``None`` where infinite.
        """
        return {
            **self._numbers(),
            "disconnected": self.disconnected,
            "layers": [layer.as_dict() for layer in self.layers],
        }

    def table(self, *, markdown: bool = False) -> str:
        """:func:`format_effective_report` of this report."""
        return format_effective_report(self, markdown=markdown)


def effective_report(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> EffectiveReport:
    """Direct and effective counts of ``mask`` on ``model`` for inputs of ``input_shape``."""
    result = effective_pass(model, mask, input_shape)
    layers = tuple(
        EffectiveLayerStats(
            name=name,
            shape=tuple(kept.shape),
            total=kept.numel(),
            kept=int(kept.sum()),
            effective_kept=int(result.mask[name].sum()),
        )
        for name, kept in mask.items()
    )
    return EffectiveReport(layers=layers, disconnected=not result.connected)


def effective_report_or_none(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> EffectiveReport | None:
    """:func:`effective_report`, or None when the model has a module the pass cannot analyse."""
    try:
        return effective_report(model, mask, input_shape)
    except UnsupportedModelError:
        return None


def format_effective_report(report: EffectiveReport, *, markdown: bool = False) -> str:
    """A table with one row per layer and a total row; a note when the network is cut."""
    headers = [
        "layer", "shape", "total", "kept", "active", "sparsity", "effective sparsity",
        "compression", "effective compression",
    ]  # fmt: skip
    rows: list[list[object]] = [_row(layer.name, "x".join(map(str, layer.shape)), layer) for layer in report.layers]
    rows.append(_row("total", "", report))
    text = format_table(headers, rows, markdown=markdown)
    if report.disconnected:
        text += "\n\ndisconnected: no path from the input to the output is left"
    return text


def _row(name: str, shape: str, counts: _Counts) -> list[object]:
    return [
        name,
        shape,
        counts.total,
        counts.kept,
        counts.effective_kept,
        percent(counts.direct_sparsity),
        percent(counts.effective_sparsity),
        counts.direct_compression,
        counts.effective_compression,
    ]
