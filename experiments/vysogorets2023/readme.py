"""README blocks of vysogorets2023, generated from ``results/summary.csv`` (one row per point,
its realised direct and effective compression, accuracy and the run's own wall seconds) and
the reduced sweeps of issue 16, each ``results/<sweep>/summary.csv`` of the same form:
``effective`` (sweep-effective.toml, ``--target effective``), ``reshuffle``
(sweep-reshuffle.toml) and ``bn`` (sweep-bn.toml, LeNet-5 with BatchNorm). A sweep whose
folder is missing was not run; its blocks and claims say so.

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


EXTRA = {"effective": "sweep-effective.toml", "reshuffle": "sweep-reshuffle.toml", "bn": "sweep-bn.toml"}


def load(folder: Path, sweep: str = "") -> list[Row]:
    """The sweep's points, numbers parsed; a disconnected point has effective compression inf.
    ``sweep``: one of :data:`EXTRA` (``results/<sweep>/summary.csv``); empty: the main sweep."""
    rows = []
    with open(folder / "results" / sweep / "summary.csv", newline="", encoding="utf-8") as handle:
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
            "disconnection": block_disconnection(rows), "gpu": block_gpu(rows), "extra-run": block_extra_run(folder),
            "target-effective": block_target_effective(rows, extra(folder, "effective")),
            "reshuffle": block_reshuffle(rows, extra(folder, "reshuffle")), "bn": block_bn(extra(folder, "bn"))}


# An assumption, not a measurement: LeNet-300-100 at batch 100 is bound by kernel launches on
# a GPU, about 1 ms a training step (600 steps an epoch) plus the test pass: 1 s an epoch.
GPU_EPOCH_SECONDS = 1.0
FULL_EPOCHS, FULL_SEEDS, MAIN_EPOCHS = 160, 3, 10


def block_gpu(rows: list[Row]) -> str:
    """The estimated cost of sweep-full.toml from the main sweep's measured CPU seconds."""
    done = trained(rows)
    seeds = len({r["seed"] for r in rows})
    points = round(len(done) * FULL_SEEDS / seeds)
    cpu_epoch = sum(r["wall_seconds"] for r in done) / len(done) / MAIN_EPOCHS
    return (f"`sweep-full.toml` trains {points:,} points x {FULL_EPOCHS} epochs. Measured here: "
            f"{cpu_epoch:.1f} s per LeNet-300-100 epoch on one CPU core (the main sweep's mean, evaluation "
            f"included), so {points * FULL_EPOCHS * cpu_epoch / 3600:,.0f} core-hours on CPUs. Estimated on a GPU at "
            f"{GPU_EPOCH_SECONDS:g} s an epoch (an assumption: launch-bound steps of about 1 ms): "
            f"{points * FULL_EPOCHS * GPU_EPOCH_SECONDS / 3600:,.0f} GPU-hours run one point at a time, less with "
            "several points per GPU (`--jobs`).")


def extra(folder: Path, sweep: str) -> list[Row] | None:
    """The points of one of the reduced sweeps, or None when it was not run."""
    return load(folder, sweep) if (folder / "results" / sweep / "summary.csv").is_file() else None


def grid_text(rows: list[Row]) -> str:
    """``2 methods (random, snip) x ...``: what a reduced sweep's grid holds."""
    parts = []
    for key, name in (("method", "methods"), ("quota", "quotas"), ("requested", "compressions"), ("seed", "seeds")):
        values = sorted({r[key] for r in rows})
        shown = [label(v) if key == "requested" else str(v) for v in values]
        parts.append(f"{len(values)} {name if len(values) > 1 else name[:-1]} ({', '.join(shown)})")
    return " x ".join(parts)


def block_extra_run(folder: Path) -> str:
    lines = []
    for sweep, toml in EXTRA.items():
        rows = extra(folder, sweep)
        if rows is None:
            lines.append(f"- `{toml}`: not run.")
            continue
        done = trained(rows)
        seconds = [r["wall_seconds"] for r in done]
        lines.append(f"- `{toml}` (`results/{sweep}/`): {grid_text(rows)} = {len(rows)} points, {len(done)} trained; "
                     f"summed wall time of the points' own runs {sum(seconds) / 60:.1f} min ({min(seconds):.0f} to "
                     f"{max(seconds):.0f} s a point), one PyTorch thread per point on the 2-core machine; a "
                     "point's seconds include waiting for the CPU where other work shared it.")
    return "\n".join(lines)


def _acc(points: list[Row]) -> str:
    return pm(summarise([r["test_accuracy"] for r in points]), digits=1)


def _per_seed(points: list[Row], value: Any) -> str:
    return " / ".join(value(r) for r in sorted(points, key=lambda r: r["seed"]))


def _ratio_text(r: Row) -> str:
    return "disc." if math.isinf(r["effective_compression"]) else f"{r['effective_compression']:,.0f}x"


def _same(table: dict[float, list[Row]], requested: float) -> list[Row]:
    """The main sweep's points at the requested compression nearest ``requested``."""
    return table[min(table, key=lambda c: abs(math.log(c / requested)))]


def block_target_effective(rows: list[Row], eff: list[Row] | None) -> str:
    if eff is None:
        return "Not run."
    main, table = cells(rows), cells(eff)
    body = []
    for (m, q), points in sorted(table.items()):
        for c, found in sorted(points.items()):
            direct = _same(main[(m, q)], c)
            body.append([m, q, label(c), _per_seed(found, lambda r: f"{r['direct_compression']:,.1f}x"), _acc(found),
                         _per_seed(direct, _ratio_text), _acc(direct)])
    return ("Pruned for an effective compression (`--target effective`) against the main sweep's point pruned for "
            "the same *direct* compression (same method, quota, seeds and training). Test accuracy (%): mean ± "
            "sample std [95% t interval] over the seeds; realised compressions per seed (seed 0 / seed 1).\n\n"
            + format_table(["method", "quota", "compression", "effective target: realised direct",
                            "effective target: accuracy", "direct target: realised effective",
                            "direct target: accuracy"], body, markdown=True))


def block_reshuffle(rows: list[Row], shuffled: list[Row] | None) -> str:
    if shuffled is None:
        return "Not run."
    main, table = cells(rows), cells(shuffled)
    body = []
    for (m, q), points in sorted(table.items()):
        for c, found in sorted(points.items()):
            original = _same(main[(m, q)], c)
            diff = summarise([a["test_accuracy"] - b["test_accuracy"] for a, b in zip(
                sorted(found, key=lambda r: r["seed"]), sorted(original, key=lambda r: r["seed"]), strict=True)])
            body.append([m, q, label(found[0]["direct_compression"]), _acc(original), _acc(found),
                         pm(diff, digits=1, per_value_above=None),
                         _per_seed(original, _ratio_text), _per_seed(found, _ratio_text)])
    return ("Each layer's mask reshuffled at random after pruning (`--reshuffle`: per-layer densities kept) against "
            "the main sweep's unshuffled point (same method, quota, compression, seeds, training). Accuracy (%): "
            "mean ± sample std [95% t interval]; the difference is reshuffled minus original, paired by seed; "
            "effective compressions per seed (seed 0 / seed 1).\n\n"
            + format_table(["method", "quota", "direct compression", "original", "reshuffled", "difference",
                            "original: effective", "reshuffled: effective"], body, markdown=True))


def block_bn(bn: list[Row] | None) -> str:
    if bn is None:
        return ("Not run in this session: the CPU it shared was taken by other work with a higher scheduling "
                "priority once the two sweeps above had finished. The model is registered (`lenet5-bn`, with a "
                "test) and `ticketlab sweep experiments/vysogorets2023/sweep-bn.toml --jobs 1 --runs-dir runs` "
                "runs the sweep.")
    table = cells(bn)
    body = []
    for (m, q), points in sorted(table.items()):
        for _c, found in sorted(points.items()):
            body.append([m, q, label(found[0]["direct_compression"]), _acc(found),
                         _per_seed(found, lambda r: "disc." if math.isinf(ratio(r)) else f"{ratio(r):.3f}")])
    return ("LeNet-5 with BatchNorm (`lenet5-bn`) on Fashion-MNIST, 4 epochs: test accuracy (%) (mean ± sample std "
            "[95% t interval] over the seeds; 10.0 is chance) and effective over realised direct compression per "
            "seed (seed 0 / seed 1; `disc.`: disconnected).\n\n"
            + format_table(["method", "quota", "direct compression", "accuracy", "effective / direct"], body,
                           markdown=True))


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
               "strongest IGQ results are on conv nets with BatchNorm"
               + ("; the reduced LeNet-5-BN sweep compares IGQ with the global quota only, see its claim)"
                  if extra(folder, "bn") is not None else ", not run)")) if order else
              "the order differs between seeds"),
        Claim("Quotas that keep small layers denser (ERK, IGQ) postpone disconnection", "qualitative",
              f"later than global and uniform for {len(held)} of {len(later)} methods ({', '.join(held)})",
              "reproduced" if len(held) == len(later) else "partly",
              "see the disconnection table; exceptions: " + ", ".join(m for m, ok in later.items() if not ok)),
        Claim("Uniform-plus quota", "qualitative", f"{invalid['error']}", "not tested",
              "cannot be built for LeNet-300-100 at these compressions"),
        claim_target_effective(rows, extra(folder, "effective")),
        claim_reshuffle(rows, extra(folder, "reshuffle")),
        claim_bn(extra(folder, "bn")),
    ]


def _seed_acc(table: dict[tuple[str, str], dict[float, list[Row]]], quota: str, c: float, seed: int) -> float:
    return next(r["test_accuracy"] for r in table[("random", quota)][c] if r["seed"] == seed)


def _mean(points: list[Row]) -> float:
    return 100 * summarise([r["test_accuracy"] for r in points]).mean


def claim_target_effective(rows: list[Row], eff: list[Row] | None) -> Claim:
    name = "Compared at equal effective compression (pruning for it, `--target effective`), the quotas differ less"
    if eff is None:
        return Claim(name, "qualitative", "not run", "not tested", "the sweep with --target effective is still to run")
    main, table = cells(rows), cells(eff)
    quotas = sorted({q for _, q in table})
    flat, dense = ("uniform", "igq") if set(quotas) >= {"uniform", "igq"} else (quotas[0], quotas[-1])
    shrunk, points = 0, []
    for m in sorted({m for m, _ in table}):
        for c in sorted(table[(m, dense)]):
            at_direct = _mean(_same(main[(m, dense)], c)) - _mean(_same(main[(m, flat)], c))
            at_effective = _mean(table[(m, dense)][c]) - _mean(table[(m, flat)][c])
            shrunk += abs(at_effective) < abs(at_direct)
            points.append(f"{m} {label(c)}: {at_direct:+.1f} -> {at_effective:+.1f}")
    n = len(points)
    verdict = "reproduced" if shrunk == n else "partly" if 2 * shrunk >= n else "not reproduced"
    return Claim(name, "qualitative", f"{dense.upper()} minus {flat} accuracy (points), at equal direct -> at equal "
                 f"effective compression: " + "; ".join(points), verdict,
                 f"the gap shrinks at {shrunk} of {n} points; reduced grid (2 methods, 2 quotas, 3 compressions, "
                 "2 seeds, LeNet-300-100)")


def claim_reshuffle(rows: list[Row], shuffled: list[Row] | None) -> Claim:
    name = "Robustness to reshuffling the mask within layers (only the layers' densities matter)"
    if shuffled is None:
        return Claim(name, "qualitative", "not run", "not tested", "the sweep with --reshuffle is still to run")
    main, table = cells(rows), cells(shuffled)
    near, texts, chance = 0, [], []
    for (m, q), points in sorted(table.items()):
        for c, found in sorted(points.items()):
            original = _same(main[(m, q)], c)
            at = f"{m}/{q} {label(found[0]['direct_compression'])}"
            if max(_mean(found), _mean(original)) <= CHANCE:
                chance.append(at)
                continue
            diff = _mean(found) - _mean(original)
            near += abs(diff) <= 2.0
            moved = _geo_effective(found) / _geo_effective(original)
            texts.append(f"{at}: {diff:+.1f} points, effective compression x{moved:.2f}")
    n = len(texts)
    verdict = "reproduced" if near == n else "partly" if 2 * near >= n else "not reproduced"
    return Claim(name, "qualitative", "reshuffled minus original accuracy, and how reshuffling moves the effective "
                 "compression (seed mean): " + "; ".join(texts), verdict,
                 f"within 2 points at {near} of {n} points (left out, both at chance: {', '.join(chance) or 'none'}); "
                 "reshuffling moves the effective compression, so the two are compared at different effective "
                 "sparsities; reduced grid (2 methods, global quota, 3 compressions, 2 seeds)")


CHANCE = 10.5  # % test accuracy: at chance (10 classes)


def _geo_effective(points: list[Row]) -> float:
    """The geometric mean of the seeds' effective compressions (inf when one is disconnected)."""
    values = [r["effective_compression"] for r in points]
    return math.inf if any(math.isinf(v) for v in values) else math.exp(sum(map(math.log, values)) / len(values))


def claim_bn(bn: list[Row] | None) -> Claim:
    name = "The same on a conv net with BatchNorm (the paper: VGG, ResNet)"
    if bn is None:
        return Claim(name, "qualitative", "not run", "not tested",
                     "LeNet-300-100 has no BatchNorm; the LeNet-5-BN sweep (sweep-bn.toml) is ready but did not run "
                     "in this session's CPU time")
    table = cells(bn)
    real = sorted({c for points in table.values() for c in points})
    high = real[-1]
    checks = {}
    if ("synflow", "global") in table:
        checks["SynFlow/global never disconnects"] = not any(
            r["disconnected"] for points in table[("synflow", "global")].values() for r in points)
    if ("random", "global") in table and ("random", "igq") in table:
        checks["random: IGQ beats global at every compression"] = all(
            _mean(table[("random", "igq")][c]) > _mean(table[("random", "global")][c]) for c in table[("random", "igq")])
        worst = max(ratio(r) for r in table[("random", "global")][high])
        checks[f"random/global: effective departs from direct at {label(high)} (worst seed {worst:.2f}x)"] = worst > 1.1
    held = [k for k, ok in checks.items() if ok]
    verdict = "reproduced" if len(held) == len(checks) else "partly" if held else "not reproduced"
    return Claim(name, "qualitative", "; ".join(f"{k}: {'yes' if ok else 'no'}" for k, ok in checks.items()), verdict,
                 "LeNet-5 with BatchNorm on Fashion-MNIST, 4 epochs, reduced grid (2 methods, 2 quotas, "
                 "2 compressions, 2 seeds); not the paper's VGG/ResNet on CIFAR")
