"""README blocks of varma2022, generated from ``results-cpu/summary.json`` and, for issue 16,
``results-cpu/levels.json`` (levels.py: 16 levels, trunk only) and
``results-cpu/levels-scaled.json`` (levels.py --budget scaled: the training budget grows with
the data); a missing file was not run, and its blocks and claims say so.

A run of the current driver records every lottery's numbers per seed (``per_seed``); the
committed 3-seed run predates that and holds only the means and population stds of its tables
(``recovered_from_tables``), from which the sample std is exact up to the tables' rounding.
``ticketlab report --experiments --readmes`` rewrites the blocks; see ticketlab/report/readme_blocks.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from ticketlab.report.readme_blocks import Claim
from ticketlab.stats import Summary, from_population_std, pm, summarise
from ticketlab.text import format_table

RESULTS = "results-cpu"
# Column of the table -> key of a per-seed record written by run.py.
COLUMNS = {"dense": "dense", "best ticket": "ticket", "random-prune": "random", "dense corrupted": "dense_c",
           "ticket corrupted": "ticket_c", "random-prune corrupted": "random_c", "ticket, test-selected": "test_selected"}


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / RESULTS / "summary.json").read_text(encoding="utf-8"))


def column(summary: dict[str, Any], per_class: str, name: str) -> Summary | None:
    """One cell of the summary table over seeds: from per-seed values, or recovered from the tables."""
    if "per_seed" in summary:
        values = [seed[COLUMNS[name]] for seed in summary["per_seed"][per_class].values()
                  if seed.get(COLUMNS[name]) is not None]
        return summarise(values) if values else None
    row = summary["recovered_from_tables"]["summary"][per_class]
    cell = row[name]
    if cell is None:
        return None
    mean, std, half = from_population_std(cell["mean"], cell["pstdev"] or 0.0, row["seeds"])
    return Summary(tuple(mean for _ in range(row["seeds"])), mean, std, half)  # values unknown: spread shown as 0


def sizes(summary: dict[str, Any]) -> list[str]:
    source = summary["per_seed"] if "per_seed" in summary else summary["recovered_from_tables"]["summary"]
    return sorted(source, key=int)


def seeds(summary: dict[str, Any], per_class: str) -> int:
    if "per_seed" in summary:
        return len(summary["per_seed"][per_class])
    return summary["recovered_from_tables"]["summary"][per_class]["seeds"]


def ticket_levels(summary: dict[str, Any], per_class: str) -> list[int] | None:
    """The best ticket's level in each lottery of ``per_class`` (order unknown when recovered), or
    None when the tables' mean % remaining does not determine them uniquely."""
    if "per_seed" in summary:
        return sorted(s["ticket_level"] for s in summary["per_seed"][per_class].values())
    row = summary["recovered_from_tables"]["summary"][per_class]
    levels = [r["level"] for r in summary["recovered_from_tables"]["levels"][per_class]["rows"] if r["level"] > 0]
    remaining = {r["level"]: r["remaining"] for r in summary["recovered_from_tables"]["levels"][per_class]["rows"]}
    exact = {level: 0.8 ** level for level in levels}
    fits = [c for c in itertools.combinations_with_replacement(levels, row["seeds"])
            if abs(100 * sum(exact[level] for level in c) / len(c) - 100 * row["ticket_remaining"]) < 0.05 + 1e-9]
    assert all(abs(remaining[level] - exact[level]) < 0.001 for level in levels), "IMP at 20% per level"
    return list(fits[0]) if len(fits) == 1 else None


def block_run(summary: dict[str, Any]) -> str:
    per_lottery = summary["lottery_training_seconds"]
    return (f"{len(per_lottery)} lotteries, {min(per_lottery.values()):,.0f} to {max(per_lottery.values()):,.0f} s "
            f"of training each on one core; the work: {summary['work_seconds']:,.0f} s in all "
            f"({summary['work_seconds'] / 3600:.1f} h of one core, so about {summary['work_seconds'] / 7200:.1f} h "
            f"of wall time with `--jobs {summary['jobs']}` on 2 cores), plus the robustness evaluations, whose "
            "time the driver of that run did not record.")


def block_summary(summary: dict[str, Any]) -> str:
    body = []
    for n in sizes(summary):
        levels = ticket_levels(summary, n)
        chosen = ", ".join(map(str, levels)) if levels else "?"
        body.append([n, seeds(summary, n), *(_cell(column(summary, n, c)) for c in COLUMNS), chosen])
    source = ("Per-seed values are in `summary.json`." if "per_seed" in summary else
              "This run predates per-seed records: the sample std is recovered from the population std its tables "
              "printed (s = σ √(n / (n − 1)), exact up to their rounding to 0.01), and the per-seed values are lost; "
              "the best ticket's levels are those whose mean % remaining matches the table's.")
    return ("Test accuracy (%), mean ± sample std [95% t interval] over the seeds (n in the second column); "
            "\"best ticket\" is the pruned level with the best validation accuracy, \"random-prune\" that level's "
            "random-prune branch; \"corrupted\" is the mean over the 40 corruptions; \"test-selected\" is what "
            "seed 004's code reports (best test accuracy over epochs and levels, selected on the test set). "
            + source + "\n\n"
            + format_table(["per class", "seeds", *COLUMNS, "ticket levels"], body, markdown=True))


def _cell(s: Summary | None) -> str:
    return "-" if s is None else pm(s)


def gains(summary: dict[str, Any], a: str, b: str) -> dict[str, tuple[float, bool]]:
    """Per data size: mean of ``a`` minus mean of ``b`` (points), and whether their 95% intervals are apart."""
    out = {}
    for n in sizes(summary):
        x, y = column(summary, n, a), column(summary, n, b)
        if x is None or y is None or x.interval is None or y.interval is None:
            continue
        out[n] = (100 * (x.mean - y.mean), x.interval[0] > y.interval[1] or y.interval[0] > x.interval[1])
    return out


def block_selection(summary: dict[str, Any]) -> str:
    inflation = {n: 100 * (column(summary, n, "ticket, test-selected").mean - column(summary, n, "best ticket").mean)
                 for n in sizes(summary)}
    return ("Selecting on the test set, as seed 004's code does, adds "
            + ", ".join(f"{v:+.2f} points at {n} per class" for n, v in inflation.items())
            + " to the mean of the best ticket (validation-selected here).")


def blocks(folder: Path) -> dict[str, str]:
    """The README's generated blocks."""
    summary = load(folder)
    return {"run": block_run(summary), "summary": block_summary(summary), "selection": block_selection(summary),
            "levels": block_levels(load_levels(folder, "levels"), summary), "budget": block_budget(load_levels(folder, "levels-scaled")),
            "gpu": block_gpu(summary)}


def load_levels(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _lotteries(found: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(found["lotteries"].values(), key=lambda v: (v["per_class"], v["seed"]))


def turned(lottery: dict[str, Any]) -> bool:
    """Whether the validation-best level lies inside the lottery (not its sparsest level)."""
    return lottery["best_level"] < max(r["level"] for r in lottery["levels"])


def step_seconds(summary: dict[str, Any]) -> float:
    """Measured seconds per training step of the 8-level CPU run (9 levels and 8 branches of 600 steps)."""
    return summary["work_seconds"] / (len(summary["lottery_training_seconds"]) * (9 + 8) * 600)


def block_levels(found: dict[str, Any] | None, summary: dict[str, Any] | None = None) -> str:
    if found is None:
        cost = "" if summary is None else (
            f" (about {17 * 600 * step_seconds(summary) / 60:.0f} minutes of one core per lottery, from the 8-level "
            "run's measured seconds per step)")
        return ("Not run in this session: the CPU it shared was taken by other work with a higher scheduling "
                f"priority. `levels.py --per-class 50,100 --seeds 0` runs it{cost}.")
    lotteries = _lotteries(found)
    head = [[f"{v['per_class']}/{v['seed']}", v["epochs_per_level"], f"{v['wall_seconds']:,.0f}",
             v["best_level"], f"{100 * v['best_remaining']:.2f}", f"{100 * v['best_test']:.2f}",
             f"{100 * v['levels'][0]['test']:.2f}",
             f"{100 * max(v['levels'][1:], key=lambda r: r['test'])['test']:.2f} (level "
             f"{max(v['levels'][1:], key=lambda r: r['test'])['level']})"] for v in lotteries]
    rows = []
    for i, level in enumerate(lotteries[0]["levels"]):
        rows.append([level["level"], f"{100 * level['remaining']:.2f}",
                     *(f"{100 * v['levels'][i]['val']:.1f} / {100 * v['levels'][i]['test']:.2f}" for v in lotteries)])
    return (f"{len(lotteries)} lotter{'y' if len(lotteries) == 1 else 'ies'} of {found['levels']} levels, "
            f"{found['work_seconds']:,.0f} s of training in all on one core. Per lottery (per class/seed): epochs per "
            "level, training seconds, the validation-best level, its % of conv weights remaining and test accuracy "
            "(%), the dense net's test accuracy and the best test accuracy over the pruned levels (selected on the "
            "test set, for reference only).\n\n"
            + format_table(["per class/seed", "epochs a level", "seconds", "best level (val)", "% remaining",
                            "best ticket test", "dense test", "best test over levels"], head, markdown=True)
            + "\n\nPer level: validation / test accuracy (%) of each lottery.\n\n"
            + format_table(["level", "% remaining", *(f"{v['per_class']}/{v['seed']}" for v in lotteries)], rows,
                           markdown=True))


def block_budget(found: dict[str, Any] | None) -> str:
    if found is None:
        return ("Not run: at 1,000 per class a budget that grows with the data (the 50-per-class lottery's 60 "
                "epochs a level, 20 times the steps of the 600-step run) costs about 20 times a fixed-budget "
                "lottery, more than this session's single core allowed. `levels.py --budget scaled "
                "--per-class 1000` runs it.")
    return block_levels(found)


# Assumptions, not measurements (no GPU was available): a CIFAR-10 epoch of ResNet-18 at batch
# 128 takes about 15 s on a V100-class GPU (published training scripts report figures of that
# order), so an epoch over n images about 15 n / 50,000 s; the validation and test passes
# (15,000 images, forward only) about a third of that per image.
GPU_EPOCH_SECONDS, CIFAR_TRAIN = 15.0, 50_000
FULL_SIZES, FULL_EPOCHS, FULL_LEVELS, FULL_SEEDS, FULL_EVAL = (50, 100, 500, 1000, 2500, 5000), 200, 16, 3, 15_000


def block_gpu(summary: dict[str, Any]) -> str:
    trainings = (FULL_LEVELS + 1) + FULL_LEVELS  # the trunk's levels and a random-prune branch per pruned level
    per_epoch = sum(GPU_EPOCH_SECONDS * (10 * n + FULL_EVAL / 3) / CIFAR_TRAIN for n in FULL_SIZES)
    hours = per_epoch * FULL_EPOCHS * trainings * FULL_SEEDS / 3600
    cpu = step_seconds(summary)
    return (f"`--scale full` trains {trainings} networks per lottery ({FULL_LEVELS + 1} levels and "
            f"{FULL_LEVELS} random-prune branches) for {FULL_EPOCHS} epochs, at {len(FULL_SIZES)} data sizes and "
            f"{FULL_SEEDS} seeds. Estimated at {GPU_EPOCH_SECONDS:g} s per 50,000-image ResNet-18 epoch on a "
            f"V100-class GPU (an assumption from published figures, not measured): {hours:,.0f} GPU-hours "
            f"without the corruption evaluations. For scale, the CPU run here took {1000 * cpu:.0f} ms per "
            "training step of ResNet-20 at half width (batch 50) on one core.")


def _gain_text(found: dict[str, tuple[float, bool]], only: tuple[str, ...] | None = None) -> str:
    return ", ".join(f"{g:+.2f} at {n}/class" + (" (intervals apart)" if apart else " (intervals overlap)")
                     for n, (g, apart) in found.items() if only is None or n in only)


def claims(folder: Path) -> list[Claim]:
    """The paper's claims and what our runs say of each."""
    summary = load(folder)
    low = ("50", "100")
    over_dense = gains(summary, "best ticket", "dense")
    over_random = gains(summary, "best ticket", "random-prune")
    robust = gains(summary, "ticket corrupted", "dense corrupted")
    control = over_dense.get("1000", (0.0, False))[0]

    def verdict(found: dict[str, tuple[float, bool]]) -> str:
        chosen = [found[n] for n in low if n in found]
        if chosen and all(g > 0 and apart for g, apart in chosen):
            return "reproduced"
        return "partly" if chosen and all(g > 0 for g, _ in chosen) else "not reproduced"

    levels = {n: ticket_levels(summary, n) for n in sizes(summary)}
    sparsest = sum(lv.count(max(r["level"] for r in summary["recovered_from_tables"]["levels"][n]["rows"]))
                   for n, lv in levels.items() if lv) if "recovered_from_tables" in summary else None
    return [
        Claim("At 50-100 examples per class sparse tickets beat the dense network", "qualitative",
              _gain_text(over_dense, low), verdict(over_dense), "ResNet-20/2 on Fashion-MNIST, 8 levels, 3 seeds"),
        Claim("The ticket, not sparsity alone: tickets beat random pruning at their densities", "qualitative",
              _gain_text(over_random, low), verdict(over_random), "random-prune: a random mask, the ticket's layer densities"),
        Claim("The gain is specific to the low-data regime", "qualitative",
              f"the 1,000-per-class control gains {control:+.2f} over dense",
              "not reproduced" if control >= min(over_dense[n][0] for n in low) else "partly",
              "the control trains 600 steps like the others (3 epochs), so it is undertrained itself; "
              + ("see the budget-scaled control" if load_levels(folder, "levels-scaled") else
                 "the budget-scaled control of issue 16 did not fit this session (see its section)")),
        Claim("Tickets are more robust under common corruptions", "qualitative", _gain_text(robust, low),
              verdict(robust), "8 pixel-space corruptions x 5 severities; no -C set for Fashion-MNIST"),
        levels_claim(load_levels(folder, "levels"), sparsest, len(summary["lottery_training_seconds"])),
        Claim("ResNet-18 on CIFAR-10, 50-5,000 per class", "qualitative", "not run", "not tested",
              "`--scale full` needs a GPU"),
    ]


def levels_claim(found: dict[str, Any] | None, sparsest: int | None, lotteries: int) -> Claim:
    name = "The best ticket lies inside the 16 levels (the curve turns)"
    eight = (f"8 levels: the best ticket is the sparsest level in {sparsest} of {lotteries} lotteries"
             if sparsest is not None else "8 levels: see the ticket levels column")
    if found is None:
        return Claim(name, "qualitative", eight, "not tested", "8 levels only: the paper's 16 levels are still to run")
    runs = _lotteries(found)
    inside = [v for v in runs if turned(v)]
    verdict = "reproduced" if len(inside) == len(runs) and len(runs) > 2 else "partly" if inside else "not reproduced"
    return Claim(name, "qualitative",
                 eight + f"; {found['levels']} levels: the validation-best level is "
                 + ", ".join(f"{v['best_level']} ({100 * v['best_remaining']:.1f}% left) at {v['per_class']}/class, "
                             f"seed {v['seed']}" for v in runs),
                 verdict, f"inside the {found['levels']} levels in {len(inside)} of {len(runs)} lotteries; "
                 f"reduced: seed(s) {', '.join(sorted({str(v['seed']) for v in runs}))} only, trunk only "
                 "(no random-prune branches, no corruptions)")
