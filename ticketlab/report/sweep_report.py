"""A sweep's summary: ``summary.csv``, a Markdown table and the plots."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.report.plots import (
    plot_direct_vs_effective,
    plot_layer_density,
    plot_metric_by_panel,
)
from ticketlab.report.table import format_table, percent

RESULT_COLUMNS = (
    "method", "quota", "target", "seed", "sparsity", "effective_sparsity", "direct_compression",
    "effective_compression", "disconnected", "test_accuracy", "val_accuracy", "wall_seconds", "run_dir",
)


def summary_rows(outcomes: Sequence[Any], grid_keys: Sequence[str]) -> list[dict[str, Any]]:
    """One flat row per point: its grid values, status, and the main numbers of its result."""
    rows = []
    for outcome in outcomes:
        config = outcome.point.config
        row: dict[str, Any] = dict(outcome.point.values)
        if config is not None:
            row.setdefault("method", config.pruning.method)
            row.setdefault("quota", config.pruning.quota)
            row.setdefault("target", config.pruning.target)
            row.setdefault("seed", config.seed)
            row.setdefault("compression", 1.0 / (1.0 - config.pruning.sparsity))
        row["status"] = outcome.status
        row["error"] = outcome.error
        result = outcome.result or {}
        for key in RESULT_COLUMNS:
            if key in result:
                row[key] = result[key]
        row["layers"] = result.get("layers", [])
        rows.append(row)
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: Path, grid_keys: Sequence[str],
              result_columns: Sequence[str] = (*RESULT_COLUMNS, "compression")) -> Path:
    """``summary.csv``: grid columns first, then status, the result columns and the error."""
    columns = list(dict.fromkeys([*grid_keys, "status", *result_columns, "error"]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    atomic_write_text(path, buffer.getvalue())
    return path


def pivot(rows: Sequence[dict[str, Any]], value: str = "test_accuracy", columns_at: int = 6) -> str:
    """Mean ``value`` over seeds: a row per (method, quota, target), a column per compression.

    At most ``columns_at`` compressions are shown, evenly picked from those in the sweep.
    """
    finished = [r for r in rows if r.get(value) is not None]
    compressions = sorted({r["compression"] for r in finished})
    if len(compressions) > columns_at:
        step = (len(compressions) - 1) / (columns_at - 1)
        compressions = [compressions[round(i * step)] for i in range(columns_at)]
    cells: dict[tuple[Any, ...], dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in finished:
        cells[(r["method"], r["quota"], r.get("target", "direct"))][r["compression"]].append(r[value])
    lines = []
    for key in sorted(cells, key=str):
        lines.append([*key, *[_mean_cell(cells[key].get(c)) for c in compressions]])
    headers = ["method", "quota", "target", *[f"{c:.3g}x" for c in compressions]]
    return format_table(headers, lines)


def _mean_cell(values: list[float] | None) -> str:
    if not values:
        return "-"
    return percent(statistics.fmean(values))


def write_report(rows: Sequence[dict[str, Any]], directory: Path, grid_keys: Sequence[str],
                 layer_density_compression: float | None = None, title: str = "") -> list[Path]:
    """The CSV, a Markdown summary and the plots of a prune sweep; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [write_csv(rows, directory / "summary.csv", grid_keys)]
    done = [r for r in rows if r["status"] in ("done", "skipped")]
    markdown = [f"# {title or 'sweep'}\n", "Mean test accuracy over seeds (columns: compression).\n",
                "```", pivot(rows), "```\n"]
    counts = defaultdict(int)
    for r in rows:
        counts[r["status"]] += 1
    markdown.append("Points: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "\n")
    invalid = sorted({(r.get("quota"), r["error"]) for r in rows if r["status"] == "invalid"}, key=str)
    if invalid:
        markdown.append("Invalid points (the configuration cannot be built):\n")
        markdown += [f"- {quota}: {error}" for quota, error in invalid[:20]]
    written.append(directory / "summary.md")
    atomic_write_text(written[-1], "\n".join(markdown) + "\n")
    if not done:
        return written
    written.append(plot_metric_by_panel(done, directory / "accuracy_vs_direct_compression.png",
                                        x_key="direct_compression", x_label="direct compression", title=title))
    written.append(plot_metric_by_panel(done, directory / "accuracy_vs_effective_compression.png",
                                        x_key="effective_compression", x_label="effective compression", title=title))
    written.append(plot_direct_vs_effective(done, directory / "direct_vs_effective_compression.png", title=title))
    if layer_density_compression is not None:
        at = min({r["compression"] for r in done}, key=lambda c: abs(math.log(c / layer_density_compression)))
        seed = min(r["seed"] for r in done)
        chosen = [r for r in done if r["compression"] == at and r["seed"] == seed and r.get("target", "direct") == "direct"]
        written.append(plot_layer_density(chosen, directory / "layer_density.png",
                                          title=f"{title} per-layer density at {at:.3g}x (seed {seed})".strip()))
    return written


LOTTERY_COLUMNS = ("level", "sparsity", "effective_sparsity", "val_accuracy", "test_accuracy",
                   "test_accuracy_selected_on_test", "run_dir")


def lottery_rows(outcomes: Sequence[Any]) -> list[dict[str, Any]]:
    """One flat row per level of every lottery point (grid values, status, the level's numbers,
    and ``<branch>_test_accuracy`` per branch); a point without a result gives one row."""
    rows = []
    for outcome in outcomes:
        base: dict[str, Any] = {**outcome.point.values, "status": outcome.status, "error": outcome.error}
        levels = (outcome.result or {}).get("levels") or [{}]
        for level in levels:
            row = {**base, **{k: level[k] for k in LOTTERY_COLUMNS if k in level}}
            for name, branch in level.get("branches", {}).items():
                row[f"{name}_test_accuracy"] = branch["test_accuracy"]
            rows.append(row)
    return rows


def write_lottery_report(rows: Sequence[dict[str, Any]], directory: Path, grid_keys: Sequence[str],
                         lotteries: Sequence[Path], title: str = "") -> list[Path]:
    """``summary.csv``, ``summary.md`` (per setting: level, % remaining, trunk and branches, mean
    over seeds) and ``lottery.png`` of a lottery sweep; returns the files written."""
    from ticketlab.report.lottery_report import group_settings, markdown_table, plot_lotteries

    directory.mkdir(parents=True, exist_ok=True)
    branch_columns = sorted({k for r in rows for k in r if k.endswith("_test_accuracy")})  # <branch>_test_accuracy
    written = [write_csv(rows, directory / "summary.csv", grid_keys, (*LOTTERY_COLUMNS, *branch_columns))]
    finished = [p for p in lotteries if (p / "result.json").exists()]
    settings = group_settings(finished) if finished else []
    text = f"# {title or 'sweep'}\n\n" + (markdown_table(settings) if settings else "no finished lottery")
    written.append(directory / "summary.md")
    atomic_write_text(written[-1], text + "\n")
    if settings:
        written.append(plot_lotteries(settings, directory / "lottery.png"))
    return written
