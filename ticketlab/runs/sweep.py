"""Sweeps: a grid of runs from a TOML file, one run directory per point, resumable.

A sweep file has a ``[base]`` table of options shared by every run, a ``[grid]`` table of
lists whose cartesian product gives the points, and an optional ``[report]`` table::

    name = "lenet300-fmnist"            # the sweep directory is RUNS_DIR/sweep-<name>
    [base]
    model = "lenet300"
    dataset = "fashion-mnist"
    epochs = 8                           # or iterations = N
    [grid]
    method = ["random", "synflow"]
    quota = ["uniform", "igq"]
    compression = { from = 10, to = 10000, per_decade = 4 }   # or a list, or sparsity = [...]
    seed = [0, 1]
    [report]
    layer_density_compression = 100      # per-layer density plot at this compression

Option names are those of ``ticketlab prune`` (dashes or underscores). With
``command = "lottery"`` at the top, every point is a ``ticketlab lottery`` instead (its
options, e.g. ``levels`` and ``prune_fraction``; ``branches = ["random-prune"]`` in [base]
or [grid] names the ablations, which are not part of a lottery's config). Every run is
an ordinary run directory, so a point already finished (by this or any sweep) is skipped,
and a killed sweep started again redoes only what is unfinished.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from pathlib import Path
from typing import Any

from ticketlab.config import canonical_json, from_dict, nest_values
from ticketlab.errors import ConfigError, TicketlabError
from ticketlab.runs.lottery_config import LotteryRunConfig
from ticketlab.runs.prune_config import PruneRunConfig

COMMANDS: dict[str, type] = {"prune": PruneRunConfig, "lottery": LotteryRunConfig}

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# Keys of a sweep that are not config fields but stand for one.
DERIVED_KEYS = ("epochs", "iterations", "compression")


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    report: dict[str, Any]
    command: str = "prune"


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One grid point: its grid values, and its config or why it has none."""

    values: dict[str, Any]
    config: PruneRunConfig | LotteryRunConfig | None
    error: str | None = None
    branches: tuple[str, ...] = ()

    def label(self) -> str:
        """A short human label made of the grid values."""
        return " ".join(f"{k}={_short(v)}" for k, v in self.values.items())


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file; problems raise a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - {"name", "command", "base", "grid", "report"})
    if unknown:
        raise ConfigError(f"sweep file {path}: unknown table(s) or key(s) {', '.join(unknown)}; use name, command, base, grid, report")
    command = str(raw.get("command", "prune"))
    if command not in COMMANDS:
        raise ConfigError(f"sweep file {path}: command must be one of {', '.join(COMMANDS)}, got '{command}'")
    grid: dict[str, list[Any]] = {}
    for key, value in raw.get("grid", {}).items():
        if key == "compression" and isinstance(value, dict):
            value = compression_range(value)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"sweep file {path}: grid entry '{key}' must be a non-empty list")
        grid[key] = value
    if "compression" in grid and "sparsity" in grid:
        raise ConfigError(f"sweep file {path}: give compression or sparsity in the grid, not both")
    spec = SweepSpec(str(raw.get("name", path.stem)), dict(raw.get("base", {})), grid, dict(raw.get("report", {})),
                     command)
    clash = sorted(set(spec.base) & set(spec.grid))
    if clash:
        raise ConfigError(f"sweep file {path}: {', '.join(clash)} in both [base] and [grid]")
    return spec


def compression_range(spec: dict[str, Any]) -> list[float]:
    """Compressions from ``from`` to ``to`` (inclusive), evenly spaced in log10 at ``per_decade``."""
    try:
        low, high, per_decade = float(spec["from"]), float(spec["to"]), int(spec["per_decade"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError("compression range needs numbers: { from = 10, to = 10000, per_decade = 4 }") from None
    if not 1 <= low <= high or per_decade < 1:
        raise ConfigError("compression range needs 1 <= from <= to and per_decade >= 1")
    steps = round(math.log10(high / low) * per_decade)
    return [float(f"{low * 10 ** (i / per_decade):.6g}") for i in range(steps + 1)]


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every point of the grid, in a stable order (the grid's keys vary last to first)."""
    points = []
    keys = list(spec.grid)
    for combo in itertools.product(*(spec.grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        flat = {k.replace("-", "_"): v for k, v in {**spec.base, **values}.items()}
        branches = flat.pop("branches", [])
        branches = tuple(branches.split(",") if isinstance(branches, str) else branches)
        try:
            if branches and spec.command != "lottery":
                raise ConfigError("branches belong to lottery sweeps (command = \"lottery\")")
            points.append(SweepPoint(values, config_from_values(flat, spec.command), branches=branches))
        except TicketlabError as exc:
            points.append(SweepPoint(values, None, str(exc), branches))
    return points


def config_from_values(values: dict[str, Any], command: str = "prune") -> PruneRunConfig | LotteryRunConfig:
    """A run config of ``command`` from flat option values, with epochs/iterations/compression."""
    cls = COMMANDS[command]
    values = {k.replace("-", "_"): v for k, v in values.items()}
    if "epochs" in values and "iterations" in values:
        raise ConfigError("give epochs or iterations, not both")
    duration = None
    if "epochs" in values:
        duration = f"{int(values.pop('epochs'))}ep"
    if "iterations" in values:
        duration = f"{int(values.pop('iterations'))}it"
    if "compression" in values:
        if command != "prune":
            raise ConfigError("compression belongs to prune sweeps; a lottery's sparsity follows from its levels")
        compression = float(values.pop("compression"))
        if compression < 1:
            raise ConfigError(f"compression must be at least 1, got {compression}")
        values["sparsity"] = 1.0 - 1.0 / compression
    nested = nest_values(cls, values)
    if duration is not None:
        nested.setdefault("train", {})["duration"] = duration
    return from_dict(cls, nested)


def sweep_id(spec: SweepSpec) -> str:
    """The sweep's canonical description (what its directory holds as sweep.json)."""
    return canonical_json(dataclasses.asdict(spec))


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
