"""Reports over lottery directories: accuracy against weights remaining, trunk against
branches, mean and spread over seeds, as a PNG and a Markdown table."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticketlab.config import canonical_json, from_dict, to_dict
from ticketlab.errors import ConfigError
from ticketlab.runs.lottery_run import LevelRow, LotteryResult, LotteryRunConfig
from ticketlab.runs.store import read_json
from ticketlab.stats import pm, sample_std, summarise
from ticketlab.text import format_table, percent

TRUNK = "IMP (trunk)"


@dataclass
class Setting:
    """Lotteries that differ only in their seed."""

    config: dict[str, Any]
    results: list[LotteryResult] = field(default_factory=list)
    label: str = ""


def find_lotteries(paths: Sequence[str | Path]) -> list[Path]:
    """Lottery directories given directly or found (with a result.json) under the paths."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
        candidates = [path] if (path / "config.json").exists() else sorted(path.rglob("lottery-*"))
        for candidate in candidates:
            record = read_json(candidate / "config.json") if (candidate / "config.json").exists() else None
            if record and record.get("kind") == LotteryRunConfig.kind and (candidate / "result.json").exists():
                found.append(candidate.resolve())
    if not found:
        raise ConfigError(f"no finished lottery directory in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(found))


def group_settings(lotteries: Sequence[Path]) -> list[Setting]:
    """Group lottery directories by their config without the seed; label what varies."""
    groups: dict[str, Setting] = {}
    for path in lotteries:
        # Through the dataclass, so a config.json written before a field existed (its
        # default, outside the hash) groups with the same run written later.
        config = to_dict(from_dict(LotteryRunConfig, read_json(path / "config.json")["config"]))
        config.pop("seed", None)
        key = canonical_json(config)
        groups.setdefault(key, Setting(config)).results.append(LotteryResult.from_json(read_json(path / "result.json")))
    settings = list(groups.values())
    varying = _varying_fields([s.config for s in settings])
    for s in settings:
        s.label = ", ".join(f"{k}={v}" for k, v in varying(s.config)) or s.config["model"]["model"]
    return settings


def _varying_fields(configs: list[dict[str, Any]]) -> Any:
    flat = [_flatten(c) for c in configs]
    keys = sorted({k for f in flat for k in f if len({canonical_json(g.get(k)) for g in flat}) > 1})

    def pick(config: dict[str, Any]) -> list[tuple[str, Any]]:
        values = _flatten(config)
        return [(k.split(".")[-1], values.get(k)) for k in keys]

    return pick


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def curves(setting: Setting, metric: str = "test_accuracy") -> dict[str, list[dict[str, Any]]]:
    """Per line (trunk, each branch): per level the mean % remaining, the mean, sample std and
    per-seed values of ``metric``, and the number of seeds."""
    lines: dict[str, dict[int, list[LevelRow]]] = defaultdict(lambda: defaultdict(list))
    for result in setting.results:
        for row in result.levels:
            lines[TRUNK][row.level].append(row)
            for name, branch in row.branches.items():
                lines[name][row.level].append(branch)
    out: dict[str, list[dict[str, Any]]] = {}
    for line, levels in lines.items():
        points = []
        for level in sorted(levels):
            rows = levels[level]
            values = [getattr(r, metric) for r in rows if getattr(r, metric) is not None]
            corrupted = [_corrupted(r) for r in rows]
            corrupted = [c for c in corrupted if c is not None]
            points.append({
                "level": level,
                "remaining": 100 * statistics.fmean(1 - r.sparsity for r in rows),
                # None where the model has a module the effective pass cannot analyse.
                "effective_remaining": _effective_remaining(rows),
                "mean": statistics.fmean(values) if values else None,
                "std": sample_std(values) if len(values) > 1 else 0.0,  # ddof = 1
                "values": values,
                "seeds": len(values),
                "corrupted": statistics.fmean(corrupted) if corrupted else None,
            })
        out[line] = points
    return out


def _effective_remaining(rows: Sequence[Any]) -> float | None:
    if any(r.effective_sparsity is None for r in rows):
        return None
    return 100 * statistics.fmean(1 - r.effective_sparsity for r in rows)


def _corrupted(row: LevelRow) -> float | None:
    path = Path(row.run_dir) / "robustness.json"
    if not path.exists():
        return None
    return read_json(path).get("mean_corrupted_accuracy")


def markdown_table(settings: Sequence[Setting], metric: str = "test_accuracy") -> str:
    """One Markdown table per setting: level, % remaining, and each line's accuracy."""
    parts = []
    for setting in settings:
        lines = curves(setting, metric)
        names = [TRUNK, *sorted(n for n in lines if n != TRUNK)]
        any_corrupted = any(p["corrupted"] is not None for n in names for p in lines[n])
        headers = ["level", "% remaining", "% effective", *names]
        if any_corrupted:
            headers += [f"{n} corrupted" for n in names]
        rows = []
        for point in lines[TRUNK]:
            row: list[Any] = [point["level"], f"{point['remaining']:.3g}", _remaining(point["effective_remaining"])]
            for name in names:
                match = [p for p in lines[name] if p["level"] == point["level"]]
                row.append(_cell(match[0]) if match else "-")
            if any_corrupted:
                for name in names:
                    match = [p for p in lines[name] if p["level"] == point["level"] and p["corrupted"] is not None]
                    row.append(percent(match[0]["corrupted"]) if match else "-")
            rows.append(row)
        seeds = max(p["seeds"] for p in lines[TRUNK])
        legend = ("" if seeds < 2 else "; mean ± sample std" + " [95% t interval]" * (seeds <= 5)
                  + ", the seeds' values where they span over 5 points")
        parts.append(f"### {setting.label} ({seeds} seed{'s' * (seeds != 1)}, {metric}{legend})\n\n"
                     + format_table(headers, rows, markdown=True))
    return "\n\n".join(parts) + "\n"


def _remaining(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _cell(point: dict[str, Any]) -> str:
    if point["mean"] is None:
        return "-"
    return pm(summarise(point["values"]))


def plot_lotteries(settings: Sequence[Setting], path: Path, metric: str = "test_accuracy") -> Path:
    """Accuracy against % of weights remaining (log x, reversed), one panel per setting."""
    return plot_curve_panels([(s.label, curves(s, metric)) for s in settings], path, metric)


TICKS = (100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)


def remaining_axis(ax: Any, sparsest: float) -> None:
    """A log x axis of % remaining, reversed (dense on the left), from just above 100 to just past
    ``sparsest`` (%), with plain percentage ticks."""
    lowest = sparsest / 1.15
    ax.set_xscale("log")
    ax.set_xlim(100 * 1.15, lowest)
    ticks = [t for t in TICKS if t >= lowest]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()


def plot_curve_panels(panels: Sequence[tuple[str, dict[str, list[dict[str, Any]]]]], path: Path,
                      metric: str = "test_accuracy") -> Path:
    """One panel per (label, :func:`curves` output): mean ± sample std against % remaining; the
    x axis (log, reversed: dense on the left) stops just past the sparsest point."""
    from ticketlab.plotting import save_figure
    from ticketlab.report.plots import panel_grid

    fig, axes = panel_grid(len(panels))
    for ax, (label, lines) in zip(axes, panels):
        for name in [TRUNK, *sorted(n for n in lines if n != TRUNK)]:
            points = [p for p in lines[name] if p["mean"] is not None]
            ax.errorbar([p["remaining"] for p in points], [100 * p["mean"] for p in points],
                        yerr=[100 * p["std"] for p in points], marker="o", markersize=3, capsize=2, label=name)
        remaining_axis(ax, min(p["remaining"] for points in lines.values() for p in points))
        ax.set_xlabel("% of prunable weights remaining")
        ax.set_title(label, fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(f"{metric.replace('_', ' ')} (%, mean ± sample std)")
    axes[0].legend(fontsize="small")
    return save_figure(fig, path)
