"""README blocks of vysogorets2023, generated from ``results/summary.csv`` (one row per point,
its realised direct and effective compression, accuracy and the run's own wall seconds).

``ticketlab report --experiments --readmes`` rewrites them; see ticketlab/report/readme_blocks.py.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ticketlab.report.readme_blocks import Claim
from ticketlab.stats import pm, summarise
from ticketlab.text import format_table

Row = dict[str, Any]
LAYERWISE = ("erk", "igq")  # quotas that keep small layers denser
FLAT = ("global", "uniform")


def load(folder: Path) -> list[Row]:
    """The sweep's points, numbers parsed; a disconnected point has effective compression inf."""
    rows = []
    with open(folder / "results" / "summary.csv", newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row: Row = dict(raw)
            row["requested"] = float(raw["compression"])
            row["seed"] = int(raw["seed"])
            for key in ("direct_compression", "effective_compression", "test_accuracy", "wall_seconds"):
                row[key] = float(raw[key]) if raw[key] else None
            row["disconnected"] = raw["disconnected"] == "True"
            if row["disconnected"]:
                row["effective_compression"] = math.inf
            rows.append(row)
    return rows


def trained(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r["status"] in ("done", "skipped")]


def realised(rows: list[Row]) -> dict[float, float]:
    """Requested compression -> realised direct compression (the same for every method and seed)."""
    found: dict[float, set[float]] = defaultdict(set)
    for r in trained(rows):
        found[r["requested"]].add(round(r["direct_compression"], 6))
    return {c: max(v) for c, v in sorted(found.items())}


def label(compression: float) -> str:
    return f"{compression:,.0f}x" if compression >= 100 else f"{compression:.3g}x"


def cells(rows: list[Row]) -> dict[tuple[str, str], dict[float, list[Row]]]:
    """(method, quota) -> requested compression -> its points (one per seed)."""
    out: dict[tuple[str, str], dict[float, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in trained(rows):
        out[(r["method"], r["quota"])][r["requested"]].append(r)
    return out


def first_disconnected(points: dict[float, list[Row]], every: bool) -> float:
    """The realised compression at which any (or ``every``) seed first disconnects; inf if never."""
    for c in sorted(points):
        flags = [r["disconnected"] for r in points[c]]
        if (all if every else any)(flags):
            return points[c][0]["direct_compression"]
    return math.inf


def ratio(row: Row) -> float:
    """Effective over realised direct compression of one point."""
    return row["effective_compression"] / row["direct_compression"]


def block_run(rows: list[Row]) -> str:
    done = trained(rows)
    seconds = [r["wall_seconds"] for r in done]
    invalid = [r for r in rows if r["status"] == "invalid"]
    quotas = sorted({r["quota"] for r in invalid})
    return (f"{len(rows)} points, {len(done)} trained, {len(invalid)} invalid (quota {', '.join(quotas)}: "
            f"cannot be built, below); seeds {', '.join(map(str, sorted({r['seed'] for r in done})))}. "
            f"Summed wall time of the trained points' own runs: {sum(seconds) / 3600:.1f} h "
            f"({min(seconds):.0f} to {max(seconds):.0f} s a point), so about {sum(seconds) / 7200:.1f} h "
            "with `--jobs 2` on 2 cores.")


def block_accuracy(rows: list[Row]) -> str:
    table = cells(rows)
    compressions = list(realised(rows))
    step = (len(compressions) - 1) / 5
    shown = [compressions[round(i * step)] for i in range(6)]
    real = realised(rows)
    body = [[m, q, *(pm(summarise([r["test_accuracy"] for r in table[(m, q)][c]]), digits=1) for c in shown)]
            for m, q in sorted(table)]
    seeds = {len(v) for points in table.values() for v in points.values()}
    return (f"Test accuracy (%) by realised direct compression: mean ± sample std [95% t interval] over "
            f"n = {', '.join(map(str, sorted(seeds)))} seeds, and the seeds' values where they differ by over "
            "5 points. 10.0 is chance.\n\n"
            + format_table(["method", "quota", *(label(real[c]) for c in shown)], body, markdown=True))


def block_effective(rows: list[Row]) -> str:
    table = cells(rows)
    real = realised(rows)
    shown = [c for c in real if abs(math.log10(c) * 2 - round(math.log10(c) * 2)) < 1e-6]  # half decades
    body = []
    for m, q in sorted(table):
        body.append([m, q, *(" / ".join("disc." if math.isinf(ratio(r)) else f"{ratio(r):.3f}"
                                        for r in sorted(table[(m, q)][c], key=lambda r: r["seed"])) for c in shown)])
    return ("Effective over realised direct compression, per seed (seed 0 / seed 1); `disc.` where the "
            "seed's network is disconnected (effective compression infinite).\n\n"
            + format_table(["method", "quota", *(label(real[c]) for c in shown)], body, markdown=True))


def block_disconnection(rows: list[Row]) -> str:
    table = cells(rows)
    body = [[m, q, _at(first_disconnected(table[(m, q)], False)), _at(first_disconnected(table[(m, q)], True))]
            for m, q in sorted(table)]
    return ("The realised compression at which a network first disconnects (no input-output path left), "
            "in any seed and in every seed; `never` up to the largest compression of the sweep.\n\n"
            + format_table(["method", "quota", "first, any seed", "first, every seed"], body, markdown=True))


def _at(compression: float) -> str:
    return "never" if math.isinf(compression) else label(compression)


def blocks(folder: Path) -> dict[str, str]:
    """The README's generated blocks."""
    rows = load(folder)
    return {"run": block_run(rows), "accuracy": block_accuracy(rows), "effective": block_effective(rows),
            "disconnection": block_disconnection(rows)}


def _mean_acc(table: dict[tuple[str, str], dict[float, list[Row]]], method: str, quota: str, c: float) -> float:
    return summarise([r["test_accuracy"] for r in table[(method, quota)][c]]).mean


def claims(folder: Path) -> list[Claim]:
    """The paper's claims that this sweep tests, and those it does not."""
    rows = load(folder)
    table = cells(rows)
    real = realised(rows)
    c100, c316, c178, c562 = (min(real, key=lambda c, t=t: abs(c - t)) for t in (100, 316, 178, 562))
    gap = {q: max(ratio(r) for r in table[("random", q)][c100]) for q in ("igq", "erk", "uniform", "global")}
    c1000 = min(real, key=lambda c: abs(c - 1000))
    departed = [key for key, points in table.items()
                if max(ratio(r) for c, rs in points.items() if c <= c1000 for r in rs) > 1.1]
    # SynFlow under the global quota: disconnections, and the largest effective/direct ratio per seed.
    synflow = [r for points in table[("synflow", "global")].values() for r in points]
    worst = {s: max((r for r in synflow if r["seed"] == s), key=ratio) for s in sorted({r["seed"] for r in synflow})}
    within_1 = [s for s, r in worst.items() if ratio(r) <= 1.01]
    # Random pruning: does IGQ beat ERK and uniform in every seed at 178x and 562x?
    order = all(_seed_acc(table, "igq", c, s) > _seed_acc(table, "erk", c, s) >= _seed_acc(table, "uniform", c, s)
                for c in (c178, c562) for s in (0, 1))
    # Disconnection: layerwise (ERK, IGQ) later than flat (global, uniform), per method.
    later = {m: min(first_disconnected(table[(m, q)], False) for q in LAYERWISE)
             > max(first_disconnected(table[(m, q)], False) for q in FLAT) for m in sorted({m for m, _ in table})}
    held = [m for m, ok in later.items() if ok]
    invalid = next(r for r in rows if r["status"] == "invalid")
    return [
        Claim("Effective sparsity departs from direct sparsity at high compression, most under quotas that "
              "empty small layers", "qualitative",
              f"random pruning, effective/direct (worse seed) at {label(real[c100])}: IGQ {gap['igq']:.2f}, "
              f"ERK {gap['erk']:.2f}, uniform {gap['uniform']:.2f}, global {gap['global']:.2f}",
              "reproduced", f"{len(departed)} of {len(table)} method/quota pairs exceed 1.1 (or disconnect) by "
              f"{label(real[c1000])}; the effective table shows where"),
        Claim("SynFlow keeps effective close to direct sparsity (it never disconnects)", "qualitative",
              f"SynFlow/global: {sum(r['disconnected'] for r in synflow)} of {len(synflow)} points disconnected; "
              "largest effective/direct per seed: " + ", ".join(
                  f"seed {s} {ratio(r):.3f} at {label(r['direct_compression'])}" for s, r in worst.items()),
              "reproduced", f"never disconnects; within 1% only for seed(s) {', '.join(map(str, within_1)) or 'none'}"),
        Claim("IGQ is the better layerwise quota for random pruning", "qualitative",
              f"random at {label(real[c178])}: IGQ {100 * _mean_acc(table, 'random', 'igq', c178):.1f}, ERK "
              f"{100 * _mean_acc(table, 'random', 'erk', c178):.1f}, uniform "
              f"{100 * _mean_acc(table, 'random', 'uniform', c178):.1f}; at {label(real[c562])}: IGQ "
              f"{100 * _mean_acc(table, 'random', 'igq', c562):.1f}, ERK "
              f"{100 * _mean_acc(table, 'random', 'erk', c562):.1f}",
              "partly" if order else "not reproduced",
              ("IGQ > ERK >= uniform in both seeds at both compressions, but on LeNet-300-100 only (the paper's "
               "strongest IGQ results are on conv nets with BatchNorm, not run)") if order else
              "the order differs between seeds"),
        Claim("Quotas that keep small layers denser (ERK, IGQ) postpone disconnection", "qualitative",
              f"later than global and uniform for {len(held)} of {len(later)} methods ({', '.join(held)})",
              "reproduced" if len(held) == len(later) else "partly",
              "see the disconnection table; exceptions: " + ", ".join(m for m, ok in later.items() if not ok)),
        Claim("Uniform-plus quota", "qualitative", f"{invalid['error']}", "not tested",
              "cannot be built for LeNet-300-100 at these compressions"),
        Claim("Pruning for a given effective sparsity (`--target effective`)", "qualitative", "not run", "not tested",
              "issue 16: the sweep with --target effective is still to run"),
        Claim("Robustness to reshuffling the mask within layers", "qualitative", "not run", "not tested",
              "issue 16: the sweep with --reshuffle is still to run"),
        Claim("The same on conv nets with BatchNorm (VGG, ResNet)", "qualitative", "not run", "not tested",
              "LeNet-300-100 has no BatchNorm; a conv net with BatchNorm is still to run"),
    ]


def _seed_acc(table: dict[tuple[str, str], dict[float, list[Row]]], quota: str, c: float, seed: int) -> float:
    return next(r["test_accuracy"] for r in table[("random", quota)][c] if r["seed"] == seed)
