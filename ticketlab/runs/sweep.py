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

``command`` names the kind of run every point is (default ``prune``; any registered
sweepable kind: ``lottery``, ``train``...). Option names are that command's (dashes or
underscores), and its run options too: with ``command = "lottery"``, ``branches =
["random-prune"]`` in [base] or [grid] names the ablations, which are not part of a
lottery's config. Every run is an ordinary run directory, so a point already finished
(by this or any sweep) is skipped, and a killed sweep started again redoes only what is
unfinished.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from pathlib import Path
from typing import Any

from ticketlab.config import canonical_json, leaf_fields
from ticketlab.errors import ConfigError, TicketlabError
from ticketlab.runs.catalog import RUN_KINDS
from ticketlab.runs.kind import RunKind
from ticketlab.runs.values import config_from_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
    config: Any
    error: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # the kind's run options (branches)

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
    if command not in sweepable_kinds():
        raise ConfigError(f"sweep file {path}: command must be one of {', '.join(sweepable_kinds())}, got '{command}'")
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
    check_option_names(spec, path)
    return spec


def option_names(command: str) -> set[str]:
    """Every name a sweep of ``command`` may set: its config's leaf fields, epochs, iterations,
    compression and the run options of every kind (another kind's make its points invalid)."""
    names = set(leaf_fields(RUN_KINDS.get(command).config)) | {"epochs", "iterations", "compression"}
    return names | {option.name for entry in RUN_KINDS for option in entry.value.options}


def check_option_names(spec: SweepSpec, path: Path) -> None:
    """A one-line :class:`ConfigError` naming the [base]/[grid] keys no option matches."""
    known = option_names(spec.command)
    for table, values in (("base", spec.base), ("grid", spec.grid)):
        unknown = sorted(key for key in values if key.replace("-", "_") not in known)
        if unknown:
            raise ConfigError(
                f"sweep file {path}: unknown option(s) {', '.join(unknown)} in [{table}] for command "
                f"'{spec.command}' (see ticketlab {spec.command} --help)"
            )


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


def sweepable_kinds() -> list[str]:
    """The kinds of run a sweep can grid (``command = ...``)."""
    return [entry.name for entry in RUN_KINDS if entry.value.sweepable]


def sweep_kind(spec: SweepSpec) -> RunKind[Any, Any]:
    """The registered kind of every point of ``spec``."""
    return RUN_KINDS.get(spec.command)


def expand(spec: SweepSpec) -> list[SweepPoint]:
    """Every point of the grid, in a stable order (the grid's keys vary last to first)."""
    kind = sweep_kind(spec)
    run_options = {option.name for option in kind.options}
    points = []
    keys = list(spec.grid)
    for combo in itertools.product(*(spec.grid[k] for k in keys)):
        values = dict(zip(keys, combo))
        flat = {k.replace("-", "_"): v for k, v in {**spec.base, **values}.items()}
        given = {name: flat.pop(name) for name in list(flat) if name in run_options}
        try:
            check_foreign_options(flat, spec.command)
            options = kind.with_options(given)
            points.append(SweepPoint(values, config_from_values(kind.config, flat), options=options))
        except TicketlabError as exc:
            points.append(SweepPoint(values, None, str(exc), given))
    return points


def check_foreign_options(values: dict[str, Any], command: str) -> None:
    """A one-line error naming the kind an option belongs to, when it is another kind's run option
    (and not also an option of this kind's config: prune's --target is not strong's)."""
    own = set(leaf_fields(RUN_KINDS.get(command).config))
    for entry in RUN_KINDS:
        for option in entry.value.options:
            if entry.name != command and option.name in values and option.name not in own:
                raise ConfigError(f"{option.name} belong to {entry.name} sweeps (command = \"{entry.name}\")")


def sweep_id(spec: SweepSpec) -> str:
    """The sweep's canonical description (what its directory holds as sweep.json)."""
    return canonical_json(dataclasses.asdict(spec))


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
