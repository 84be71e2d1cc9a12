"""README blocks of zhang2021, generated from ``results/summary.json`` (every run's accuracy
per seed, the spectra, and the wall time of the work where the driver recorded it).

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
            "picked": block_picked(summary)}


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
        Claim("The gap rule picks a useful size at other tolerances epsilon", "qualitative", "not run", "not tested",
              "issue 16: an epsilon sweep is still to run"),
        Claim("A wider model with more Hessian outliers", "qualitative", "not run", "not tested",
              "issue 16: still to run"),
        Claim("CIFAR-10/100, ImageNet, VGG and ResNets", "qualitative", "not run", "not tested",
              "needs a GPU and --spectrum layerwise"),
    ]
