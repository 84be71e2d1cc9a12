"""README blocks of burkholz2022, generated from ``results/summary.json`` (per target: the
target run and every construction with its setting, draw, errors, explain section and
accuracies).

``ticketlab report --experiments --readmes`` rewrites them; see ticketlab/report/readme_blocks.py.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from ticketlab.report.readme_blocks import Claim
from ticketlab.stats import pm, summarise
from ticketlab.text import format_table

CNN, RESNET = "cnn3 @ 10%", "resnet20 @ 45%"
LABELS = {"burkholz-2l": "2L", "burkholz-l1": "L+1"}
Row = dict[str, Any]


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "results" / "summary.json").read_text(encoding="utf-8"))


def groups(summary: dict[str, Any], target: str) -> dict[tuple[str, str, int], list[Row]]:
    """(setting, construction, n) -> its constructions, one per draw, in draw order."""
    out: dict[tuple[str, str, int], list[Row]] = defaultdict(list)
    for row in sorted(summary["results"][target]["constructions"], key=lambda r: r["draw"]):
        out[(row["setting"], row["construction"], row["n"])].append(row)
    return out


def logit_error(row: Row) -> float:
    return row["output_errors"][-1]["max_rel_error"]


def block_run(summary: dict[str, Any]) -> str:
    lines = []
    for name, record in summary["results"].items():
        target = record["target"]
        count = len(record["constructions"])
        lines.append(f"- **{name}**: test accuracy {100 * target['test_accuracy']:.2f}% on the full test set "
                     f"(density {100 * target['density']:.1f}% after {len(target['steps']) - 1} annealing steps); "
                     f"{count} constructions.")
    lines.append(f"\nWall time of the work (the runs' own seconds, training included): "
                 f"{summary['work_seconds']:,.0f} s on {summary['cpu_cores']} CPU cores ({summary['device']}).")
    return "\n".join(lines)


def block_cnn(summary: dict[str, Any]) -> str:
    body = []
    for (setting, construction, n), found in sorted(groups(summary, CNN).items(), key=lambda kv: (kv[0][1], kv[0][2],
                                                                                                     kv[0][0])):
        first = found[0]
        body.append([construction, n, setting, len(found),
                     f"{statistics.median(r['max_rel_weight_error'] for r in found):.1e}",
                     f"{max(r['max_rel_weight_error'] for r in found):.1e}",
                     f"{statistics.median(logit_error(r) for r in found):.1e}",
                     pm(summarise([r["ticket_test_accuracy"] for r in found])),
                     f"{100 * first['target_test_accuracy']:.2f}%", f"{first['test_examples']:,}",
                     f"{statistics.median(r['ticket_nonzeros'] for r in found) / first['target_nonzeros']:.1f}",
                     f"{first['source_parameters']:,}"])
    return format_table(["construction", "n", "setting", "draws", "max rel weight error: median", "worst",
                         "logit error: median", "ticket acc % (mean ± sample std [95% t interval])", "target acc",
                         "test examples", "ticket / target nonzeros", "random params"], body, markdown=True)


def block_audit(summary: dict[str, Any]) -> str:
    """Per tensor (cnn3) or per network (ResNet-20), at each construction's largest n: the
    explain section, medians over draws. Quantiles are over all entries, the pruned (zero)
    targets included, which every construction reaches exactly: so no median column."""
    body = []
    for target in summary["results"]:
        found = groups(summary, target)
        largest = {c: max(n for (_, c2, n) in found if c2 == c) for (_, c, _) in found}
        for (setting, construction, n), rows in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if n != largest[construction] or not rows[0].get("explain"):
                continue
            tensors = rows[0]["explain"]
            med = [{key: statistics.median(r["explain"][i][key] for r in rows)
                    for key in ("p99_rel_error", "max_rel_error", "outside", "near_edge", "max_abs_z")}
                   for i in range(len(tensors))]
            if target == CNN:
                for tensor, m in zip(tensors, med, strict=True):
                    body.append([target, f"{construction} n={n}", setting, tensor["tensor"], f"{m['p99_rel_error']:.1e}",
                                 f"{m['max_rel_error']:.1e}", f"{m['outside']:,.0f}", f"{m['near_edge']:,.0f}",
                                 f"{m['max_abs_z']:.1f}"])
            else:
                body.append([target, f"{construction} n={n}", setting, f"all {len(tensors)} weight tensors",
                             f"{statistics.median(m['p99_rel_error'] for m in med):.1e} (median)",
                             f"{max(m['max_rel_error'] for m in med):.1e}", f"{sum(m['outside'] for m in med):,.0f}",
                             f"{sum(m['near_edge'] for m in med):,.0f}", f"{max(m['max_abs_z'] for m in med):.1f}"])
    return format_table(["target", "construction", "setting", "tensor", "p99 rel error", "max", "outside range",
                         "near edge", "max |z|"], body, markdown=True)


def block_resnet(summary: dict[str, Any]) -> str:
    body = []
    for (setting, construction, n), rows in sorted(groups(summary, RESNET).items(), key=lambda kv: (kv[0][1], kv[0][2],
                                                                                                     kv[0][0])):
        row = rows[0]
        errors = [o["max_rel_error"] for o in row["output_errors"]]
        body.append([construction, n, setting, ", ".join(f"{e:.2g}" for e in errors),
                     f"{100 * row['ticket_test_accuracy']:.2f}%", f"{100 * row['target_test_accuracy']:.2f}%",
                     f"{row['test_examples']:,}"])
    return format_table(["construction", "n", "setting", "output error after each layer or block, to the logits",
                         "ticket acc", "target acc", "test examples"], body, markdown=True)


def blocks(folder: Path) -> dict[str, str]:
    summary = load(folder)
    return {"run": block_run(summary), "cnn": block_cnn(summary), "audit": block_audit(summary),
            "resnet": block_resnet(summary)}


def best(summary: dict[str, Any], target: str, construction: str) -> tuple[int, list[Row]]:
    """The largest n of a construction with the rescaled setting, and its rows."""
    found = {n: rows for (setting, c, n), rows in groups(summary, target).items()
             if c == construction and setting == "rescaled"}
    n = max(found)
    return n, found[n]


def gap(rows: list[Row]) -> float:
    """Mean (target - ticket) accuracy in points."""
    return 100 * statistics.fmean(r["target_test_accuracy"] - r["ticket_test_accuracy"] for r in rows)


def claims(folder: Path) -> list[Claim]:
    summary = load(folder)
    out = []
    for target in (CNN, RESNET):
        for construction in ("burkholz-2l", "burkholz-l1"):
            n, rows = best(summary, target, construction)
            lost = gap(rows)
            verdict = "reproduced" if lost <= 0.5 else "partly" if lost <= 5 else "not reproduced"
            out.append(Claim(
                f"{target.split()[0]}: the {LABELS[construction]} construction yields a ticket of the sparse target",
                "qualitative (existence, for n large enough)",
                f"n = {n}: {lost:.2f} points below the target (mean of {len(rows)} source(s))", verdict,
                "within 0.5 point: reproduced; within 5: partly; at our largest affordable n"))
    l1 = best(summary, CNN, "burkholz-l1")[1][0]
    two = best(summary, CNN, "burkholz-2l")[1][0]
    out.append(Claim("L+1 needs fewer parameters than 2L", "qualitative",
                     f"cnn3: L+1 keeps {l1['ticket_nonzeros']:,} random weights (n = {l1['n']}), 2L "
                     f"{two['ticket_nonzeros']:,} (n = {two['n']}, conv layers only)",
                     "not tested",
                     "not comparable here: 2L rebuilds cnn3's conv layers only (its linear layer's source would not "
                     "fit), L+1 all three, at different n"))
    return out
