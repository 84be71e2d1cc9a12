"""Plots people would rather look at than read (matplotlib, PNG, no display needed)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ticketlab.plotting import pyplot, save_figure  # experiments/cunha2022/run.py imports both from here
from ticketlab.stats import sample_std

Row = dict[str, Any]


def panel_grid(count: int) -> tuple[Any, list[Any]]:
    plt = pyplot()
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False, sharey=True)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    return fig, flat[:count]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def mean_curves(rows: Iterable[Row], x_key: str, y_key: str, line_key: str, group_key: str) -> dict[Any, list[tuple[float, float, float]]]:
    """Per line: (mean x, mean y, sample std y) for every group of rows (e.g. seeds of one point)."""
    groups: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
    for row in rows:
        if _finite(row.get(x_key)) and _finite(row.get(y_key)):
            groups[(row[line_key], row[group_key])].append(row)
    curves: dict[Any, list[tuple[float, float, float]]] = defaultdict(list)
    for (line, _), members in groups.items():
        xs, ys = [m[x_key] for m in members], [m[y_key] for m in members]
        spread = sample_std(ys) if len(ys) > 1 else 0.0
        curves[line].append((statistics.fmean(xs), statistics.fmean(ys), spread))
    return {line: sorted(points) for line, points in curves.items()}


def plot_metric_by_panel(
    rows: Sequence[Row],
    path: Path,
    *,
    x_key: str,
    y_key: str = "test_accuracy",
    panel_key: str = "quota",
    line_key: str = "method",
    group_key: str = "compression",
    x_label: str,
    y_label: str = "test accuracy",
    title: str = "",
    log_x: bool = True,
    reverse_x: bool = False,
) -> Path:
    """One panel per ``panel_key`` value, one line per ``line_key`` value, mean +- std over the rest."""
    values = sorted({r[panel_key] for r in rows if r.get(y_key) is not None}, key=str)
    fig, axes = panel_grid(max(len(values), 1))
    for ax, panel in zip(axes, values):
        curves = mean_curves([r for r in rows if r[panel_key] == panel], x_key, y_key, line_key, group_key)
        for line in sorted(curves, key=str):
            xs, ys, spread = zip(*curves[line])
            ax.errorbar(xs, ys, yerr=spread, marker="o", markersize=3, capsize=2, label=str(line))
        ax.set_title(f"{panel_key} {panel}")
        ax.set_xlabel(x_label)
        if log_x:
            ax.set_xscale("log")
        if reverse_x:
            ax.invert_xaxis()
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(y_label)
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_direct_vs_effective(rows: Sequence[Row], path: Path, title: str = "") -> Path:
    """Effective against direct compression, one panel per quota, one line per method."""
    values = sorted({r["quota"] for r in rows if _finite(r.get("effective_compression"))}, key=str)
    fig, axes = panel_grid(max(len(values), 1))
    for ax, panel in zip(axes, values):
        chosen = [r for r in rows if r["quota"] == panel]
        curves = mean_curves(chosen, "direct_compression", "effective_compression", "method", "compression")
        for line in sorted(curves, key=str):
            xs, ys, _ = zip(*curves[line])
            ax.plot(xs, ys, marker="o", markersize=3, label=str(line))
        limits = [min(c[0] for cs in curves.values() for c in cs), max(c[1] for cs in curves.values() for c in cs)]
        ax.plot(limits, limits, color="grey", linestyle=":", label="effective = direct")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"quota {panel}")
        ax.set_xlabel("direct compression")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("effective compression")
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_layer_density(rows: Sequence[Row], path: Path, title: str = "") -> Path:
    """Per-layer direct (bars) and effective (dots) density, one panel per quota, bars per method."""
    values = sorted({r["quota"] for r in rows}, key=str)
    fig, axes = panel_grid(max(len(values), 1))
    for ax, panel in zip(axes, values):
        chosen = sorted((r for r in rows if r["quota"] == panel), key=lambda r: str(r["method"]))
        if not chosen:
            continue
        names = [layer["name"] for layer in chosen[0]["layers"]]
        width = 0.8 / len(chosen)
        for j, row in enumerate(chosen):
            xs = [i + (j - (len(chosen) - 1) / 2) * width for i in range(len(names))]
            direct = [max(layer["kept"] / layer["total"], 1e-7) for layer in row["layers"]]
            effective = [max(layer.get("effective_kept", layer["kept"]) / layer["total"], 1e-7) for layer in row["layers"]]
            bars = ax.bar(xs, direct, width=width, label=str(row["method"]), alpha=0.8)
            ax.plot(xs, effective, linestyle="none", marker="o", markersize=3, color=bars.patches[0].get_facecolor(),
                    markeredgecolor="black")
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize="x-small")
        ax.set_title(f"quota {panel}")
        ax.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("density (bars: direct, dots: effective)")
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
