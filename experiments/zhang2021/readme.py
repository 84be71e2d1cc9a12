"""README blocks of zhang2021, generated from ``results/summary.json`` (every run's accuracy
per seed, the spectra, and the wall time of the work where the driver recorded it) and
``results/epsilon.json`` (epsilon.py: the gap rule at other tolerances, and the wider model;
missing: not run, and the blocks and claims say so).

``ticketlab report --experiments --readmes`` rewrites them; see ticketlab/report/readme_blocks.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from ticketlab.report.readme_blocks import Claim
from ticketlab.stats import pm, summarise
from ticketlab.text import format_table

METHODS = ("IMC-slow", "IMC-fast", "IMP", "snip/igq", "synflow/igq", "random/igq")
Row = dict[str, Any]


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "results" / "summary.json").read_text(encoding="utf-8"))


def group(rows: list[Row]) -> dict[tuple[str, str, float, str], list[Row]]:
    """(model, setting, requested % remaining, method) -> its rows, one per seed."""
    out: dict[tuple[str, str, float, str], list[Row]] = defaultdict(list)
    for r in rows:
        out[(r["model"], r["setting"], round(r["remaining"], 4), r["method"])].append(r)
    return out


def accuracy(rows: list[Row]) -> Any:
    return summarise([r["test_accuracy"] for r in sorted(rows, key=lambda r: r["seed"])])


def realised(rows: list[Row]) -> float:
    return summarise([100 * (1 - r["realised_sparsity"]) for r in rows]).mean


def block_run(summary: dict[str, Any]) -> str:
    work = summary.get("work_seconds")
    if isinstance(work, dict) and work:
        return (f"Wall time of the work (the runs' own seconds, spectra included): {sum(work.values()):,.0f} s "
                "on one core per (model, seed) point; per point: "
                + ", ".join(f"{k} {v:,.0f} s" for k, v in sorted(work.items())) + ".")
    return ("The wall time of the work is not recorded: the committed `summary.json` comes from a rerun that "
            f"found every run finished ({summary['wall_seconds']:.0f} s), and the driver of that time kept no "
            "run's own seconds. The driver now records them (`work_seconds`); a rerun from scratch fills this in.")


def block_spectra(summary: dict[str, Any]) -> str:
    body = []
    for key, s in sorted(summary["spectra"].items()):
        block = s["spectrum"][0]
        top = block["top_eigenvalues"]
        widest = max((b - a for a, b in zip(top, top[1:])), default=float("nan"))
        gap = s["gap"]
        body.append([key, f"{s['d']:,}", f"{block['smallest']:.3g}", f"{block['largest']:.3g}",
                     f"{block['lanczos_steps']}", f"{s['lipschitz']:.3g}", f"{2 * s['lipschitz']:.3g}", f"{widest:.3g}",
                     f"N = {gap['index']:,} ({gap['lower']:.3g} -> {gap['upper']:.3g})" if gap else "none"])
    return format_table(["model/seed", "d", "smallest eigenvalue", "largest", "Lanczos steps", "Lip(F)", "2 Lip(F)",
                         "widest step among the top 100", "gap found"], body, markdown=True)


def block_accuracy(summary: dict[str, Any]) -> str:
    cells = group(summary["rows"])
    body = []
    for model in sorted({k[0] for k in cells}):
        dense = cells[(model, "dense", 100.0, "dense")]
        body.append([model, "100 (dense)", pm(accuracy(dense)), *[""] * len(METHODS)])
        for remaining in sorted({k[2] for k in cells if k[0] == model and k[1] == "fixed"}, reverse=True):
            found = {m: cells[(model, "fixed", remaining, m)] for m in METHODS}
            best = max(METHODS, key=lambda m: accuracy(found[m]).mean)
            line = []
            for m in METHODS:
                text = pm(accuracy(found[m]))
                effective = summarise([r["effective_remaining"] for r in found[m]]).mean
                if effective < 0.5 * remaining:
                    text += f" ({effective:.2g}% effective)"
                line.append(f"**{text}**" if m == best else text)
            body.append([model, f"{realised(found['IMP']):.4g}", "", *line])
    return ("Test accuracy (%) at the fixed sparsities: mean ± sample std [95% t interval] over the seeds "
            "(n = 3 in every cell), the seeds' values (0 / 1 / 2) where they span over 5 points, and the "
            "effective density where under half the direct one; best mean per row in bold. % remaining is "
            "realised (the same for every method to 4 digits).\n\n"
            + format_table(["model", "% remaining", "dense", *METHODS], body, markdown=True))


def block_picked(summary: dict[str, Any]) -> str:
    cells: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for r in summary["rows"]:
        if r["setting"] not in ("dense", "fixed"):
            cells[(r["model"], r["setting"], r["method"])].append(r)
    body = []
    for (model, setting, method), found in sorted(cells.items()):
        rows = sorted(found, key=lambda r: r["seed"])
        seeds = ", ".join(str(r["seed"]) for r in rows)
        kept = ", ".join(f"{100 * (1 - r['realised_sparsity']):.4g}" for r in rows)
        body.append([model, setting, method, seeds, kept, pm(accuracy(rows))])
    return ("At the sparsity IMC picks (or its fallback where no gap met the condition), and the other methods "
            "at the sparsity IMC picked:\n\n"
            + format_table(["model", "setting", "method", "seeds", "% remaining", "test accuracy (%)"], body,
                           markdown=True))


def blocks(folder: Path) -> dict[str, str]:
    """The README's generated blocks."""
    summary = load(folder)
    return {"run": block_run(summary), "spectra": block_spectra(summary), "accuracy": block_accuracy(summary),
            "picked": block_picked(summary), "epsilon": block_epsilon(load_epsilon(folder)), "gpu": block_gpu()}


def load_epsilon(folder: Path) -> dict[str, Any] | None:
    path = folder / "results" / "epsilon.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


USEFUL = (0.01, 0.99)  # a size is useful when either side keeps between 1% and 99% of the weights


def size_text(row: Row, d: int) -> str:
    """The gap's N as the kept share of the slow side (N / d), or 'no gap'."""
    if row["N"] is None:
        return "no gap"
    n = row["N"]
    return f"N = {n:,}" if n <= d // 2 else f"N = d - {d - n:,}"


def useful(row: Row) -> bool:
    return row["N"] is not None and USEFUL[0] <= row["slow_keeps"] <= USEFUL[1]


def block_epsilon(found: dict[str, Any] | None) -> str:
    if found is None:
        return "Not run."
    epsilons = found["epsilons"]
    body = []
    for key, p in sorted(found["points"].items()):
        by = {r["epsilon"]: r for r in p["epsilons"]}
        name = key if p["width"] == 1 else f"{key} (width {p['width']:g})"
        warm = p["warmup_test_accuracy"]
        body.append([name, f"{p['d']:,}", "-" if warm is None else f"{100 * warm:.1f}", f"{p['largest']:.3g}",
                     f"{p['widest_resolved_step']:.3g}",
                     *(f"{2 * by[e]['lipschitz']:.3g}: {size_text(by[e], p['d'])}" for e in epsilons)])
    seconds = found["work_seconds"]
    return (f"Per model and seed: W*'s test accuracy (%), the largest eigenvalue, the widest step between resolved "
            "consecutive eigenvalues, and per epsilon 2 Lip(F) (the width a gap must exceed) and the N the rule "
            f"picks (a size is useful when N / d lies in [{USEFUL[0]:g}, {USEFUL[1]:g}]). The work: "
            f"{seconds:,.0f} s on one core (the spectrum units' own seconds and each Lip(F) search's), "
            f"{len(found['points'])} (model, seed) point(s).\n\n"
            + format_table(["model/seed", "d", "W* acc.", "largest", "widest step",
                            *(f"eps = {e:g}" for e in epsilons)], body, markdown=True))


# Assumptions, not measurements (no GPU was available): a CIFAR-10 epoch at batch 128 on a
# V100-class GPU takes about 15 s for ResNet-18 and 10 s for VGG-16 (published training
# scripts report figures of that order); run.py trains, per (model, seed), 8 IMC runs, an IMP
# lottery of 8 levels, 9 pruning-at-init runs at the fixed sparsities and up to 10 more at
# the sizes IMC picks.
FULL_EPOCH_SECONDS = {"resnet18": 15.0, "vgg16": 10.0}
FULL_EPOCHS, FULL_SEEDS, FULL_TRAININGS = 160, 3, (25, 35)


def block_gpu() -> str:
    low, high = (n * FULL_EPOCHS * FULL_SEEDS * sum(FULL_EPOCH_SECONDS.values()) / 3600 for n in FULL_TRAININGS)
    return (f"`--scale full` trains {FULL_TRAININGS[0]} to {FULL_TRAININGS[1]} networks per (model, seed) for "
            f"{FULL_EPOCHS} epochs, {FULL_SEEDS} seeds of ResNet-18 and VGG-16. Estimated at "
            + " and ".join(f"{v:g} s per epoch for {k}" for k, v in FULL_EPOCH_SECONDS.items())
            + f" on a V100-class GPU (an assumption from published figures, not measured): {low:,.0f} to "
            f"{high:,.0f} GPU-hours, plus the layerwise spectra (minutes per layer).")


def claims(folder: Path) -> list[Claim]:
    """The paper's claims and what our runs say of each."""
    summary = load(folder)
    cells = group(summary["rows"])
    spectra = summary["spectra"]
    gaps = {k: s["gap"]["index"] for k, s in spectra.items() if s["gap"]}
    no_gap = sorted(k for k, s in spectra.items() if not s["gap"])
    degenerate = all(min(i, spectra[k]["d"] - i) <= 10 for k, i in gaps.items())
    fixed = [k for k in cells if k[1] == "fixed" and k[3] == "IMP"]
    imc_beats_imp = [(k[0], k[2]) for k in fixed if max(accuracy(cells[(k[0], "fixed", k[2], m)]).mean
                                                      for m in ("IMC-slow", "IMC-fast")) > accuracy(cells[k]).mean]
    pai = ("snip/igq", "synflow/igq", "random/igq")
    wins = [(k[0], k[2], m) for k in fixed for m in ("IMC-slow", "IMC-fast")
            if accuracy(cells[(k[0], "fixed", k[2], m)]).mean > max(accuracy(cells[(k[0], "fixed", k[2], p)]).mean
                                                                    for p in pai)]
    single = [f"{m} over {p} ({k[0]}, {k[2]:g}%)" for k in fixed for m in ("IMC-slow", "IMC-fast") for p in pai
              if accuracy(cells[(k[0], "fixed", k[2], m)]).mean > accuracy(cells[(k[0], "fixed", k[2], p)]).mean]
    slow = [r for k, rs in cells.items() if k[1] == "picked" and k[3] == "IMC-slow" for r in rs]
    dense = {m: accuracy(cells[(m, "dense", 100.0, "dense")]) for m in sorted({k[0] for k in cells})}
    return [
        Claim("The gap rule finds the size of the subnetwork, one shot", "qualitative",
              "gap at N = " + ", ".join(f"{k}: d - {spectra[k]['d'] - i}" for k, i in sorted(gaps.items()))
              + (f"; no gap: {', '.join(no_gap)}" if no_gap else ""),
              "not reproduced" if degenerate else "partly",
              "the only qualifying gaps are next to the top outlier eigenvalues, so the sizes are degenerate "
              "(all weights but one or two, or one or two weights)" if degenerate else "see the spectra table"),
        Claim("IMC's subnetwork is lossless", "qualitative",
              "IMC-slow at its picked size: " + pm(summarise([r["test_accuracy"] for r in slow]))
              + f" against dense {pm(dense['lenet300'])} (lenet300)",
              "partly", "lossless only trivially: the kept side is all weights but one or two"),
        Claim("IMC is superior to IMP at the same sparsity", "qualitative",
              f"IMC (either side) beats IMP at {len(imc_beats_imp)} of {len(fixed)} fixed (model, sparsity) points",
              "not reproduced" if not imc_beats_imp else "partly", "see the accuracy table"),
        Claim("IMC is superior to pruning at initialisation", "qualitative",
              f"IMC beats the best of SNIP, SynFlow and random with IGQ at {len(wins)} of {len(fixed)} points"
              + (": " + ", ".join(f"{m} {model} at {r:g}%" for model, r, m in wins) if wins else ""),
              "not reproduced" if len(wins) <= len(fixed) // 3 else "partly",
              "IMC's mean beats a single one of them only at: " + ("; ".join(single) or "none")
              + " (within the seeds' intervals); see the accuracy table"),
        *epsilon_claims(load_epsilon(folder)),
        Claim("CIFAR-10/100, ImageNet, VGG and ResNets", "qualitative", "not run", "not tested",
              "needs a GPU: `run.py --scale full` (VGG-16, ResNet-18 on CIFAR-10, --spectrum layerwise)"),
    ]


def epsilon_claims(found: dict[str, Any] | None) -> list[Claim]:
    """The gap rule at other tolerances, and on the wider model."""
    if found is None:
        return [Claim("The gap rule picks a useful size at other tolerances epsilon", "qualitative", "not run",
                      "not tested", "issue 16: an epsilon sweep is still to run"),
                Claim("A wider model with more Hessian outliers", "qualitative", "not run", "not tested",
                      "issue 16: still to run")]
    points = found["points"]
    narrow = {k: p for k, p in points.items() if p["width"] == 1}
    wide = {k: p for k, p in points.items() if p["width"] != 1}

    def hits(group: dict[str, Any]) -> list[str]:
        return [f"{k} at eps = {r['epsilon']:g} (N / d = {r['slow_keeps']:.3f})"
                for k, p in sorted(group.items()) for r in p["epsilons"] if useful(r)]

    def sizes(group: dict[str, Any]) -> str:
        return "; ".join(f"{k}: " + ", ".join(f"{r['epsilon']:g} -> {size_text(r, p['d'])}" for r in p["epsilons"])
                         for k, p in sorted(group.items()))

    good, n_eps = hits(narrow), len(found["epsilons"])
    out = [Claim("The gap rule picks a useful size at other tolerances epsilon", "qualitative",
                 f"epsilon {', '.join(f'{e:g}' for e in found['epsilons'])}: " + sizes(narrow),
                 "not reproduced" if not good else "partly",
                 (f"no tolerance gives a size with N / d in [{USEFUL[0]:g}, {USEFUL[1]:g}] "
                  if not good else "useful only at: " + "; ".join(good) + " ")
                 + f"({n_eps} tolerances, seed(s) {', '.join(sorted({k.split('/')[1] for k in narrow}))}): only the "
                 "110 resolved extreme eigenvalues can form a gap, so N is always among the 10 smallest or the "
                 "100 largest")]
    if not wide:
        out.append(Claim("A wider model with more Hessian outliers", "qualitative", "not run", "not tested",
                         "issue 16: still to run"))
        return out
    good = hits(wide)
    steps = "; ".join(f"{k}: largest eigenvalue {p['largest']:.3g}, widest resolved step {p['widest_resolved_step']:.3g}"
                      for k, p in sorted(points.items()) if k.split("/")[0] in {"lenet300", *(w.split("/")[0] for w in wide)})
    out.append(Claim("A wider model (LeNet-300-100 at twice the width) lets the gap rule pick a useful size",
                     "qualitative", sizes(wide) + f" ({steps})", "not reproduced" if not good else "partly",
                     "no tolerance gives a useful size on the wider model either" if not good
                     else "useful at: " + "; ".join(good)))
    return out
