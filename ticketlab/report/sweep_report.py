"""A sweep's summary: ``summary.csv``, a Markdown table and the plots."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_text
from ticketlab.registry import Registry
from ticketlab.report.plots import (
    plot_direct_vs_effective,
    plot_layer_density,
    plot_metric_by_panel,
)
from ticketlab.text import format_table, percent

RESULT_COLUMNS = (
    "method", "quota", "target", "seed", "sparsity", "effective_sparsity", "direct_compression",
    "effective_compression", "disconnected", "test_accuracy", "val_accuracy", "wall_seconds", "run_dir",
)


def as_json(result: Any) -> dict[str, Any]:
    """A point's result record as its result.json keys (empty when it has none)."""
    return {} if result is None else result.to_json()


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
        result = as_json(outcome.result)
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
        levels = as_json(outcome.result).get("levels") or [{}]
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


# A sweep's report, per kind of run: (outcomes, spec, sweep directory, runs directory) ->
# (files written, text for the terminal). Kinds without an entry get the generic one.
SweepReport = Callable[[Sequence[Any], Any, Path, Path], tuple[list[Path], str]]


def prune_sweep_report(outcomes: Sequence[Any], spec: Any, directory: Path, runs_dir: Path) -> tuple[list[Path], str]:
    """Accuracy against direct and effective compression, per method and quota."""
    rows = summary_rows(outcomes, list(spec.grid))
    files = write_report(rows, directory, list(spec.grid), spec.report.get("layer_density_compression"),
                         title=spec.name)
    return files, pivot(rows)


def lottery_sweep_report(outcomes: Sequence[Any], spec: Any, directory: Path,
                         runs_dir: Path) -> tuple[list[Path], str]:
    """A row per level of every lottery, and the lotteries' plot."""
    from ticketlab.runs.store import RunDirectory

    lotteries = [RunDirectory(runs_dir, o.point.config).path for o in outcomes if o.point.config is not None]
    files = write_lottery_report(lottery_rows(outcomes), directory, list(spec.grid), lotteries, title=spec.name)
    return files, (directory / "summary.md").read_text()


POINT_COLUMNS = ("test_accuracy", "val_accuracy", "sparsity", "effective_sparsity", "wall_seconds", "run_dir")


def point_sweep_report(outcomes: Sequence[Any], spec: Any, directory: Path, runs_dir: Path) -> tuple[list[Path], str]:
    """Any kind of run: a row per point with its grid values, status and main numbers."""
    grid = list(spec.grid)
    rows = [{**o.point.values, "status": o.status, "error": o.error, **as_json(o.result)} for o in outcomes]
    directory.mkdir(parents=True, exist_ok=True)
    files = [write_csv(rows, directory / "summary.csv", grid, POINT_COLUMNS)]
    headers = [*grid, "status", "test acc", "sparsity"]
    body = [[*(_short(r.get(k)) for k in grid), r["status"], percent(r.get("test_accuracy")),
             percent(r.get("sparsity"))] for r in rows]
    files.append(directory / "summary.md")
    atomic_write_text(files[-1], f"# {spec.name}\n\n{format_table(headers, body, markdown=True)}\n")
    return files, format_table(headers, body)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


SWEEP_REPORTS: Registry[SweepReport] = Registry("sweep report")
SWEEP_REPORTS.add("prune", prune_sweep_report)
SWEEP_REPORTS.add("lottery", lottery_sweep_report)


def sweep_report(kind: str) -> SweepReport:
    """The report of a sweep whose points are runs of ``kind``."""
    return SWEEP_REPORTS.get(kind) if kind in SWEEP_REPORTS else point_sweep_report
