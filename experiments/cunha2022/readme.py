"""README blocks of cunha2022, generated from ``results/summary.json`` (every construction:
n, draw, setting, errors, accuracies, sizes).

``ticketlab report --experiments --readmes`` rewrites them; see ticketlab/report/readme_blocks.py.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from ticketlab.report.readme_blocks import Claim
from ticketlab.text import format_table

PAPER_TARGET = 0.8912  # seed 000's LeNet5 on Fashion-MNIST
PAPER_ERROR = 1e-3  # "relative error 10^-3" at n = 30
Row = dict[str, Any]


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "results" / "summary.json").read_text(encoding="utf-8"))


def rows(summary: dict[str, Any], setting: str, n: int | None = None) -> list[Row]:
    return [r for r in summary["constructions"] if r["setting"] == setting and (n is None or r["n"] == n)]


def ns(summary: dict[str, Any]) -> list[int]:
    return sorted({r["n"] for r in summary["constructions"]})


def median(found: list[Row], key: str) -> float:
    return statistics.median(r[key] for r in found)


def worst(found: list[Row], key: str) -> float:
    return max(r[key] for r in found)


def accuracy_gap(found: list[Row]) -> float:
    """The largest |ticket - target| accuracy over ``found``, in points."""
    return max(100 * abs(r["ticket_test_accuracy"] - r["target_test_accuracy"]) for r in found)


def block_run(summary: dict[str, Any]) -> str:
    target = summary["target"]
    count = len(summary["constructions"])
    return (f"Target: LeNet5 trained for 50 epochs, test accuracy {100 * target['test_accuracy']:.2f}% "
            f"(seed 000: {100 * PAPER_TARGET:.2f}%). {count} constructions ({len(ns(summary))} values of n, "
            f"{summary['draws']} random sources each, {len(summary['settings'])} settings). Wall time of the work "
            f"(the runs' own seconds, training included): {summary['work_seconds']:,.0f} s on "
            f"{summary['cpu_cores']} CPU cores ({summary['device']}).")


def block_errors(summary: dict[str, Any]) -> str:
    body = []
    for setting in summary["settings"]:
        for n in ns(summary):
            found = rows(summary, setting, n)
            body.append([setting, n, f"{median(found, 'max_rel_weight_error'):.2e}",
                         f"{worst(found, 'max_rel_weight_error'):.2e}", f"{median(found, 'conv_block_error'):.2e}",
                         f"{worst(found, 'conv_block_error'):.2e}", f"{worst(found, 'logit_error'):.2e}",
                         f"{100 * median(found, 'ticket_test_accuracy'):.2f}%",
                         f"{100 * min(r['ticket_test_accuracy'] for r in found):.2f}%",
                         f"{accuracy_gap(found):.2f}"])
    return format_table(["setting", "n", "max rel weight error: median", "worst", "conv block output error: median",
                         "worst", "logit error: worst", "ticket acc: median", "lowest", "max gap to target (points)"],
                        body, markdown=True)


def block_sensitivity(summary: dict[str, Any]) -> str:
    """Median and worst over draws of the max rel weight error for every --rescale tried."""
    settings = {**summary["sensitivity"], **summary["settings"]}
    big = sorted({r["n"] for r in summary["constructions"] if r["setting"] in summary["sensitivity"]})
    body = []
    for setting, value in sorted(settings.items(), key=lambda kv: kv[1]):
        cells = []
        for n in big:
            found = rows(summary, setting, n)
            cells.append(f"{median(found, 'max_rel_weight_error'):.1e} / {worst(found, 'max_rel_weight_error'):.1e}")
        body.append([f"{value:g}" + (" (off)" if value == 0 else ""), *cells])
    return format_table(["--rescale", *[f"n = {n}: median / worst" for n in big]], body, markdown=True)


def block_tensors(summary: dict[str, Any]) -> str:
    """Per tensor, the worst over draws: where the error of each setting comes from."""
    tensors = [w["tensor"] for w in summary["constructions"][0]["weight_errors"]]
    body = []
    for setting in summary["settings"]:
        for n in ns(summary):
            found = rows(summary, setting, n)
            worst_of = {t: max(next(w["max_rel_error"] for w in r["weight_errors"] if w["tensor"] == t) for r in found)
                        for t in tensors}
            body.append([setting, n, *[f"{worst_of[t]:.1e}" for t in tensors]])
    return format_table(["setting", "n", *tensors], body, markdown=True)


def block_sizes(summary: dict[str, Any]) -> str:
    body = []
    for n in ns(summary):
        found = rows(summary, "rescaled", n)
        first = found[0]
        body.append([n, f"{first['target_parameters']:,}", f"{first['source_parameters']:,}",
                     f"{first['source_parameters'] / first['target_parameters']:.1f}x",
                     f"{median(found, 'ticket_nonzeros'):,.0f}", f"{median(found, 'solve_seconds'):.1f}"])
    return format_table(["n", "target conv params", "random conv params", "ratio", "ticket nonzeros (median)",
                         "solve s (median)"], body, markdown=True)


def targets(summary: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """Issue 15's targets for the rescaled construction: (what, met, the numbers)."""
    found = {n: rows(summary, "rescaled", n) for n in ns(summary)}
    medians = [median(found[n], "max_rel_weight_error") for n in ns(summary)]
    late = [n for n in ns(summary) if n >= 20]
    top = max(ns(summary))
    monotone = all(b <= a for a, b in zip(medians, medians[1:]))
    return [
        ("median over draws of the max rel weight error is non-increasing in n", monotone,
         ", ".join(f"{m:.1e}" for m in medians)),
        ("median at most 1e-3 from n = 20", all(median(found[n], "max_rel_weight_error") <= 1e-3 for n in late),
         ", ".join(f"n={n}: {median(found[n], 'max_rel_weight_error'):.1e}" for n in late)),
        (f"every draw at most 1e-5 at n = {top}", worst(found[top], "max_rel_weight_error") <= 1e-5,
         f"worst {worst(found[top], 'max_rel_weight_error'):.1e}"),
        ("ticket accuracy equal to the target's to 0.1 point from n = 20, every draw",
         all(accuracy_gap(found[n]) <= 0.1 for n in late),
         ", ".join(f"n={n}: {accuracy_gap(found[n]):.2f}" for n in late)),
    ]


def block_targets(summary: dict[str, Any]) -> str:
    body = [[what, "met" if met else "**not met**", numbers] for what, met, numbers in targets(summary)]
    return format_table(["target (rescaled construction)", "", "measured"], body, markdown=True)


def block_pensia(summary: dict[str, Any]) -> str:
    """Pensia et al.'s construction on LeNet-300-100: per tensor, the --explain section; then the networks."""
    target = summary["pensia_target"]
    body, networks = [], []
    for r in summary["pensia"]:
        for t in r["explain"]:
            body.append([r["n"], r["setting"], t["tensor"], f"{t['median_rel_error']:.1e}", f"{t['p99_rel_error']:.1e}",
                         f"{t['max_rel_error']:.1e}", f"{t['outside']:,}", f"{t['near_edge']:,}",
                         f"{t['max_abs_z']:.1f}"])
        networks.append([r["n"], r["setting"], f"{r['logit_error']:.1e}", f"{100 * r['ticket_test_accuracy']:.2f}%",
                         f"{100 * r['target_test_accuracy']:.2f}%", f"{r['test_examples']:,}"])
    tensors = format_table(["n", "setting", "tensor", "median rel error", "p99", "max", "outside range", "near edge",
                            "max |z|"], body, markdown=True)
    nets = format_table(["n", "setting", "logit error", "ticket acc", "target acc", "test examples"], networks,
                        markdown=True)
    return (f"LeNet-300-100 target: {100 * target['test_accuracy']:.2f}% test accuracy on the full test set "
            f"(10 epochs, Adam 1e-3); one random source per n.\n\n{tensors}\n\n{nets}")


def blocks(folder: Path) -> dict[str, str]:
    summary = load(folder)
    return {"run": block_run(summary), "errors": block_errors(summary), "tensors": block_tensors(summary),
            "sizes": block_sizes(summary), "targets": block_targets(summary), "sensitivity": block_sensitivity(summary),
            "pensia": block_pensia(summary)}


def claims(folder: Path) -> list[Claim]:
    summary = load(folder)
    top = max(ns(summary))
    at_top = rows(summary, "rescaled", top)
    old_top = rows(summary, "as trained", top)
    error = worst(at_top, "max_rel_weight_error")
    target = summary["target"]["test_accuracy"]
    ratio = at_top[0]["source_parameters"] / at_top[0]["target_parameters"]
    late = [r for r in summary["constructions"] if r["setting"] == "rescaled" and r["n"] >= 20]
    gap = accuracy_gap(late)
    return [
        Claim("LeNet5 trained on Fashion-MNIST", f"{100 * PAPER_TARGET:.2f}%", f"{100 * target:.2f}%",
              "reproduced" if abs(target - PAPER_TARGET) <= 0.01 else "partly",
              "same recipe (50 epochs, Adam 1e-3, batch 64, Kaiming-uniform); torch instead of Flux.jl"),
        Claim(f"conv layers approximated to relative error about 1e-3 at n = {top}", "about 1e-3",
              f"{error:.1e} (worst of {len(at_top)} draws; as trained: {worst(old_top, 'max_rel_weight_error'):.1e})",
              "reproduced" if error <= PAPER_ERROR else "not reproduced",
              "exact subset sums; the target rescaled first (ReLU is positively homogeneous), errors in the "
              "trained target's coordinates"),
        Claim("the random CNN is roughly 30 times larger than LeNet5's conv layers", "about 30x",
              f"{ratio:.1f}x at n = {top}", "reproduced",
              "n copies per input channel plus n constant channels per layer for the biases"),
        Claim("the pruned random conv block classifies as the target does", "qualitative (never measured)",
              f"within {gap:.2f} points for every draw from n = 20", "reproduced" if gap <= 0.1 else "partly",
              "the seed measured weight errors only; we measure the whole network's test accuracy"),
        Claim("solving n = 30 for 2,572 weights takes about an hour on 32 cores", "about 1 h (Gurobi MIP)",
              f"{median(at_top, 'solve_seconds'):.1f} s (exact meet in the middle)", "not tested",
              "a different algorithm, not the paper's MIP; benchmarks/subset_sum.py compares with HiGHS"),
    ]
