"""README blocks of sparse_training, generated from ``results/summary.json`` (run.py: every run's
accuracy, sparsity, effective sparsity and training FLOPs per seed).

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

METHODS = ("IMP", "GMP", "RigL", "SET", "static ERK", "static random")
SPARSITIES = (0.9, 0.95, 0.98)
CHECK = 0.95
Row = dict[str, Any]
Cells = dict[tuple[str, str, float], list[Row]]


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "results" / "summary.json").read_text(encoding="utf-8"))


def cells(summary: dict[str, Any]) -> Cells:
    """(model, method, target sparsity) -> its rows, one per seed, in seed order."""
    out: Cells = defaultdict(list)
    for r in sorted(summary["rows"], key=lambda r: r["seed"]):
        out[(r["model"], r["method"], round(r["sparsity"], 4))].append(r)
    return out


def mean(rows: list[Row], key: str = "test_accuracy") -> float:
    return summarise([r[key] for r in rows]).mean


def acc(rows: list[Row]) -> str:
    return pm(summarise([r["test_accuracy"] for r in rows]))


def models(summary: dict[str, Any]) -> list[str]:
    return sorted(summary["models"])


def block_setup(summary: dict[str, Any]) -> str:
    lines = []
    for name in models(summary):
        m = summary["models"][name]
        data = "the whole training set" if m["per_class"] is None else f"{m['per_class']:,} examples per class"
        seeds = sorted({r["seed"] for r in summary["rows"] if r["model"] == name})
        lines.append(f"- `{name}`: `{m['model']}` at width {m['width']:g}, {m['epochs'].removesuffix('ep')} epochs "
                     f"per run on {data} of Fashion-MNIST (tested on all 10,000 test images), seeds "
                     f"{', '.join(map(str, seeds))}.")
    work = summary["work_seconds"]
    lines.append(f"\nWall time of the work: {sum(work.values()) / 3600:.2f} core-hours over {len(work)} (model, seed) "
                 f"points ({summary['jobs']} job(s) of {summary['threads']} thread(s) each, {summary['device']}): "
                 + ", ".join(f"{k} {v / 60:.0f} min" for k, v in sorted(work.items())) + ".")
    return "\n".join(lines)


def block_accuracy(summary: dict[str, Any]) -> str:
    found = cells(summary)
    parts = []
    for name in models(summary):
        dense = found[(name, "dense", 0.0)]
        rows = [["dense", f"{acc(dense)} (100%)", "", ""]]
        for method in METHODS:
            line = [method]
            for s in SPARSITIES:
                here = found.get((name, method, s), [])
                if not here:
                    line.append("-")
                    continue
                remaining = 100 * (1 - mean(here, "effective_sparsity"))
                realised = f", {100 * (1 - mean(here, 'realised_sparsity')):.3g}% kept" if method == "IMP" else ""
                line.append(f"{acc(here)} ({remaining:.3g}% effective{realised})")
            rows.append(line)
        extended = found.get((name, "RigL 5x", CHECK), [])
        if extended:
            rows.append(["RigL 5x", "-", f"{acc(extended)} ({100 * (1 - mean(extended, 'effective_sparsity')):.3g}% "
                         "effective)", "-"])
        parts.append(f"**{name}** (test accuracy %, mean ± sample std [95% t interval], n = 3 seeds; in brackets "
                     "the effective density)\n\n" + format_table(["method", "90% sparse", "95% sparse", "98% sparse"],
                                                                 rows, markdown=True))
    return "\n\n".join(parts)


def block_cost(summary: dict[str, Any]) -> str:
    found = cells(summary)
    rows = []
    for name in models(summary):
        for method in (*METHODS, "RigL 5x"):
            line = [name, method]
            for s in SPARSITIES:
                here = found.get((name, method, s), [])
                line.append(f"{mean(here, 'training_flops_ratio'):.3g}" if here else "-")
            if any(c != "-" for c in line[2:]):
                rows.append(line)
    return format_table(["model", "method", "90%", "95%", "98%"], rows, markdown=True)


def block_tickets(summary: dict[str, Any]) -> str:
    found = cells(summary)
    rows, notes = [], []
    for name in models(summary):
        for method in ("GMP", "RigL"):
            here = found[(name, method, CHECK)]
            own = [r["test_accuracy"] for r in here]
            rewound = [r["branches"]["rewind"] for r in here if "rewind" in r.get("branches", {})]
            rows.append([name, method, acc(here), pm(summarise(rewound)) if rewound else "-",
                         acc(found[(name, "static ERK", CHECK)]), acc(found[(name, "static random", CHECK)])])
            if rewound:
                gap = 100 * (summarise(rewound).mean - summarise(own).mean)
                apart = clearly_above(rewound, own) or clearly_above(own, rewound)
                where = "95% intervals apart" if apart else "the intervals overlap"
                notes.append(f"{method} on {name}: the fixed final mask is {abs(gap):.2f} points "
                             f"{'above' if gap > 0 else 'below'} the method ({where})")
    return format_table(["model", "method", "the method", "its final mask, fixed, from its init", "static ERK",
                         "static random"], rows, markdown=True) + "\n\n" + "; ".join(notes) + "."


def clearly_above(a: list[float], b: list[float]) -> bool:
    """``a``'s 95% t interval lies wholly above ``b``'s (a single value is its own interval)."""
    sa, sb = summarise(a), summarise(b)
    low = sa.interval[0] if sa.interval else sa.mean
    high = sb.interval[1] if sb.interval else sb.mean
    return low > high


def _wins(found: Cells, names: list[str], better: str, worse: str, sparsities: tuple[float, ...] = SPARSITIES
          ) -> tuple[list[str], list[str], int]:
    """Points where ``better``'s mean accuracy is above ``worse``'s, those where clearly so, and the count."""
    points = [(n, s) for n in names for s in sparsities if found.get((n, better, s)) and found.get((n, worse, s))]
    values = {p: ([r["test_accuracy"] for r in found[(p[0], better, p[1])]],
                  [r["test_accuracy"] for r in found[(p[0], worse, p[1])]]) for p in points}
    wins = [f"{n} {100 * s:g}%" for (n, s), (a, b) in values.items() if summarise(a).mean > summarise(b).mean]
    clear = [f"{n} {100 * s:g}%" for (n, s), (a, b) in values.items() if clearly_above(a, b)]
    return wins, clear, len(points)


def _verdict(wins: list[str], clear: list[str], total: int) -> str:
    """reproduced: clearly above at every point; partly: clearly above somewhere, or the mean above at more
    than half the points; not reproduced: neither; not tested: no point."""
    if not total:
        return "not tested"
    if len(clear) == total:
        return "reproduced"
    return "partly" if clear or 2 * len(wins) > total else "not reproduced"


def _count(wins: list[str], clear: list[str], total: int) -> str:
    return (f"mean above at {len(wins)} of {total} points" + (f" ({', '.join(wins)})" if wins else "")
            + f", 95% intervals apart at {len(clear)}")


def claims(folder: Path) -> list[Claim]:
    """The RigL and GMP papers' claims, and what our runs say of each."""
    summary = load(folder)
    found = cells(summary)
    names = models(summary)
    over_set = _wins(found, names, "RigL", "SET")
    over_static = _wins(found, names, "RigL", "static ERK")
    both = ([p for p in over_set[0] if p in over_static[0]], [p for p in over_set[1] if p in over_static[1]],
            over_set[2])
    erk = _wins(found, names, "static ERK", "static random")
    extended = _wins(found, names, "RigL 5x", "GMP", (CHECK,))
    ratios = {(name, s): mean(found[(name, "RigL", s)], "training_flops_ratio")
              / mean(found[(name, "static ERK", s)], "training_flops_ratio") for name in names for s in SPARSITIES}
    ticket = []
    for name in names:
        for method in ("RigL", "GMP"):
            own = [r["test_accuracy"] for r in found[(name, method, CHECK)]]
            rewound = [r["branches"]["rewind"] for r in found[(name, method, CHECK)] if "rewind" in r["branches"]]
            if rewound:
                ticket.append((name, method, own, rewound))
    rigl = [(n, a, b) for n, m, a, b in ticket if m == "RigL"]
    short = ([n for n, a, b in rigl if summarise(a).mean > summarise(b).mean],
             [n for n, a, b in rigl if clearly_above(a, b)], len(rigl))
    gap = ", ".join(f"{m} on {n} {100 * (summarise(a).mean - summarise(b).mean):+.2f}" for n, m, a, b in ticket)
    dense_gap = {n: 100 * (mean(found[(n, "GMP", 0.9)]) - mean(found[(n, "dense", 0.0)])) for n in names}
    return [
        Claim("RigL beats SET and static sparse training at equal sparsity and (near) equal training cost "
              "(Evci et al. 2020)", "qualitative", "RigL above both SET and static ERK: " + _count(*both),
              _verdict(*both), f"above SET: {_count(*over_set)}; above static ERK: {_count(*over_static)}. Short "
              "training (5-6 epochs, the mask moving until 75% of it); see the accuracy table"),
        Claim("RigL's training cost stays close to a static sparse network's: one dense gradient every update "
              "interval (Evci et al. 2020)", "qualitative",
              "RigL / static ERK training FLOPs: " + ", ".join(f"{n} {100 * s:g}% {r:.3f}x"
                                                               for (n, s), r in ratios.items()),
              "reproduced" if all(r <= 1.1 for r in ratios.values()) else "partly",
              "counted step by step; with updates every 100 steps the dense gradient adds about "
              "(1/density - 1)/300 of a sparse run while the mask moves: a few percent at 90%, more at 98%"),
        Claim("ERK quotas beat uniform ones for random fixed masks (Evci et al. 2020)", "qualitative",
              "static ERK above static random: " + _count(*erk), _verdict(*erk),
              "see the accuracy table; at 98% uniform random masks leave most of LeNet-300-100's kept weights dead"),
        Claim("Trained 5x as long, RigL matches or beats pruning from dense (GMP) (Evci et al. 2020)",
              "qualitative", "RigL 5x above GMP at 95%: " + _count(*extended), _verdict(*extended),
              "at 95% only; RigL 5x still costs a fraction of GMP's training FLOPs (cost table)"),
        Claim("RigL's final mask is no winning ticket: trained again as a fixed mask from its initialisation it "
              "falls short of RigL, whose moving mask escapes the minima a static topology is stuck in (Evci "
              "et al. 2020)", "qualitative", "RigL above its fixed final mask: " + _count(*short), _verdict(*short),
              f"at 95%; each method minus its fixed final mask (points): {gap}"),
        Claim("Gradual magnitude pruning reaches 90% sparsity with little loss (Zhu & Gupta 2017)", "qualitative",
              "GMP 90% minus dense (points): " + ", ".join(f"{n} {g:+.2f}" for n, g in dense_gap.items()),
              "reproduced" if all(g >= -1.0 for g in dense_gap.values()) else "partly",
              "within one point of dense (or above it) counts as little loss here"),
        Claim("Large sparse models beat small dense ones of the same size (Zhu & Gupta 2017)", "qualitative",
              "not run", "not tested", "needs a small-dense baseline per sparsity; not part of this experiment"),
        Claim("ImageNet, CIFAR-10 and the papers' ResNet-50 / MobileNet / WideResNet scale", "qualitative", "not run",
              "not tested", "CPU scale only; run.py --device cuda runs the same grid on a GPU"),
    ]


def blocks(folder: Path) -> dict[str, str]:
    """The README's generated blocks."""
    summary = load(folder)
    return {"setup": block_setup(summary), "accuracy": block_accuracy(summary), "cost": block_cost(summary),
            "tickets": block_tickets(summary)}
