"""Closing tables on the terminal that several kinds of run share: epochs and layers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ticketlab.runs.results import LayerRow
from ticketlab.text import format_table, percent


def epoch_table(run_dir: str, metrics: str = "metrics.jsonl") -> str:
    """The per-epoch table of a run directory's metrics file."""
    history = [json.loads(line) for line in (Path(run_dir) / metrics).read_text().splitlines() if line.strip()]
    return format_table(
        ["epoch", "train loss", "train acc", "val acc", "test acc", "seconds"],
        [
            [m["epoch"], "-" if m["train_loss"] is None else f"{m['train_loss']:.4f}", percent(m["train_accuracy"]),
             percent(m["val_accuracy"]), percent(m["test_accuracy"]), f"{m['seconds']:.1f}"]
            for m in history
        ],
    )


def layer_table(layers: list[LayerRow], kept: int, total: int) -> str:
    """Per layer kept and total weights with the density, and the totals."""
    return format_table(
        ["layer", "shape", "kept", "total", "density"],
        [[r["name"], "x".join(map(str, r["shape"])), r["kept"], r["total"], percent(r["kept"] / r["total"])]
         for r in layers]
        + [["total", "", kept, total, percent(kept / total)]],
    )


def effective_layer_table(layers: list[LayerRow], kept: int, effective_kept: int | None, total: int) -> str:
    """Per layer kept, effectively kept and total weights with both densities, and the totals
    ("-" where effective counts are unavailable: a model the effective pass cannot analyse).

    Rows of a structured mask (N:M, channel) add a column: the groups that follow the N:M
    pattern, or the output units that keep a weight.
    """
    structured = any("structure" in r for r in layers)
    extra = ["structure"] if structured else []
    return format_table(
        ["layer", "shape", "kept", "effective", "total", "density", "eff. density", *extra],
        [
            [r["name"], "x".join(map(str, r["shape"])), r["kept"], r.get("effective_kept"), r["total"],
             percent(r["kept"] / r["total"], 3), percent(_fraction(r.get("effective_kept"), r["total"]), 3),
             *([structure_cell(r)] if structured else [])]
            for r in layers
        ]
        + [["total", "", kept, effective_kept, total, percent(kept / total, 3),
            percent(_fraction(effective_kept, total), 3), *([""] if structured else [])]],
    )


def structure_cell(row: LayerRow) -> str:
    """``2:4 in 300/300 groups``, ``channel: 12/32 units`` or the structure's name alone."""
    name = row.get("structure", "unstructured")
    if "groups" in row:
        return f"{name} in {row['groups_n']}/{row['groups']} groups"
    if "units" in row:
        return f"{name}: {row['units_kept']}/{row['units']} units"
    return str(name)


def _fraction(part: int | None, whole: int) -> float | None:
    return None if part is None else part / whole


def accuracy_line(result: Any) -> str:
    """``test accuracy .. val accuracy .. wall ..s`` of a trained run's record."""
    return (f"test accuracy {percent(result.test_accuracy)}  val accuracy {percent(result.val_accuracy)}  "
            f"wall {result.wall_seconds:.1f}s")


def effective_summary(result: Any, headline: str) -> str:
    """Epochs, per-layer kept and effectively kept weights, then ``headline`` (what the mask is),
    a DISCONNECTED mark where no input reaches the output, and the accuracies."""
    layers = effective_layer_table(result.layers, result.kept, result.effective_kept, result.total)
    closing = (f"run {result.run_dir}\n{headline}" + ("  DISCONNECTED" if result.disconnected else "")
               + f"\n{accuracy_line(result)}")
    return "\n\n".join([epoch_table(result.run_dir), layers, closing])
