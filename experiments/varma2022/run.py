"""Seed 004 (Varma et al., "Sparse Winning Tickets are Data-Efficient Image Recognizers",
NeurIPS 2022) at CPU scale: IMP tickets against the dense net and random pruning in the
low-data regime, clean and under common corruptions.

    python experiments/varma2022/run.py --jobs 2            # CPU scale (Fashion-MNIST)
    python experiments/varma2022/run.py --seeds 0 --per-class 50,100   # a quicker subset
    python experiments/varma2022/run.py --scale full        # the paper's scale, for GPUs
    python experiments/varma2022/run.py --levels 16 --branch-levels best --per-class 50,100 \
        --out experiments/varma2022/results-cpu/16-levels   # issue 16: the paper's 16 levels

Every lottery is an ordinary ``ticketlab lottery`` directory under --runs-dir, so the
script resumes where it stopped. It then picks, per lottery, the best ticket by
*validation* accuracy (never test), evaluates the dense net, that ticket and its
random-prune branch under corruptions, and writes the tables and plots to --out.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_json, atomic_write_text
from ticketlab.cli.driver_args import comma_ints
from ticketlab.data import DataConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import ModelConfig
from ticketlab.report.lottery_report import (
    group_settings,
    markdown_table,
    plot_lotteries,
)
from ticketlab.report.table import format_table
from ticketlab.runs import Session
from ticketlab.runs.branch_levels import best_level
from ticketlab.runs.lottery_run import LevelRow, LotteryResult, LotteryRunConfig, run_lottery
from ticketlab.runs.robustness import run_robustness
from ticketlab.stats import pm, summarise
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

BRANCH = "random-prune"


@dataclass(frozen=True)
class Scale:
    """One scale of the experiment: data set, model, grid and training per data size."""

    dataset: str
    model: str
    width: float
    per_class: tuple[int, ...]
    seeds: tuple[int, ...]
    levels: int
    val: int
    # per_class -> (epochs, eval_every)
    schedule: dict[int, tuple[int, int]]
    batch_size: int
    crop_padding: int
    prunable: str
    test_subset: int | None
    rewind: str


SCALES = {
    # ResNet-20 at half width (8/16/32 channels, 68k weights): a quarter of the cost of
    # the full width, still far more weights than the 500 to 10,000 training images.
    # Every setting trains 600 steps of batch 50 per level (epochs shrink as data grows)
    # and evaluates about 6 times per level; rewinding goes to 1% of training, as epoch 2
    # of 200 is in the paper (the literal "epoch 2" would be 67% of the 1000/class run).
    "cpu": Scale(
        dataset="fashion-mnist", model="resnet20", width=0.5, per_class=(50, 100, 1000), seeds=(0, 1, 2),
        levels=8, val=500, schedule={50: (60, 10), 100: (30, 5), 1000: (3, 1)}, batch_size=50,
        crop_padding=2, prunable="conv", test_subset=2000, rewind="6it",
    ),
    # The paper: ResNet-18 on CIFAR-10, 16 levels of 200 epochs, batch 100, rewind to epoch 2.
    "full": Scale(
        dataset="cifar10", model="resnet18", width=1.0, per_class=(50, 100, 500, 1000, 2500, 5000), seeds=(0, 1, 2),
        levels=16, val=5000, schedule={n: (200, 1) for n in (50, 100, 500, 1000, 2500, 5000)}, batch_size=100,
        crop_padding=4, prunable="conv", test_subset=None, rewind="2ep",
    ),
}


def epochs_schedule(epochs: int) -> tuple[int, int]:
    """(epochs, eval_every) of a level trained ``epochs`` epochs, evaluated about 6 times."""
    return epochs, max(1, epochs // 6)


def lottery_config(scale: Scale, per_class: int, seed: int) -> LotteryRunConfig:
    """The lottery of one (data size, seed) point: seed 004's recipe at this scale."""
    epochs, eval_every = scale.schedule[per_class]
    return LotteryRunConfig(
        data=DataConfig(dataset=scale.dataset, per_class=per_class, val=scale.val, augment="crop+flip",
                        crop_padding=scale.crop_padding),
        model=ModelConfig(model=scale.model, width=scale.width),
        train=TrainConfig(duration=f"{epochs}ep", batch_size=scale.batch_size, optimizer="sgd", lr=0.1,
                          momentum=0.9, weight_decay=5e-4, schedule="cosine", eval_every=eval_every),
        prunable=PrunableSpec(scale.prunable),
        lottery=LotteryConfig(levels=scale.levels, prune_fraction=0.2, scope="global", rewind=scale.rewind),
        seed=seed,
    )


def _run_one(config: LotteryRunConfig, runs_dir: str, threads: int, device: str,
             branch_levels: str | None = None) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    started = time.monotonic()
    result = run_lottery(config, runs_dir=runs_dir, branches=[BRANCH], session=Session(device=device),
                         branch_levels=branch_levels)
    return {"result": result, "seconds": time.monotonic() - started}


def best_ticket(result: LotteryResult) -> LevelRow:
    """The pruned level with the best validation accuracy (ties: the sparser one), where
    ``--branch-levels best`` puts the random-prune branch."""
    return result.levels[best_level([(row.level, row.val_accuracy) for row in result.levels])]


def per_seed(scale: Scale, results: dict[tuple[int, int], LotteryResult],
             robustness: dict[str, dict]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per data size and seed: every number the README cites (fractions; None where missing)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (per_class, seed), result in sorted(results.items()):
        dense, ticket = result.levels[0], best_ticket(result)
        random = ticket.branches[BRANCH]
        record: dict[str, Any] = {
            "dense": dense.test_accuracy, "ticket": ticket.test_accuracy, "random": random.test_accuracy,
            "test_selected": max(r.test_accuracy_selected_on_test for r in result.levels[1:]),
            "ticket_level": ticket.level, "ticket_remaining": 1 - ticket.sparsity,
            "levels": [{"level": r.level, "remaining": 1 - r.sparsity, "trunk": r.test_accuracy,
                        "random": r.branches[BRANCH].test_accuracy if BRANCH in r.branches else None}
                       for r in result.levels],
        }
        for key, unit in (("dense_c", dense), ("ticket_c", ticket), ("random_c", random)):
            found = robustness.get(str(Path(unit.run_dir).resolve()))
            record[key] = None if found is None else found["mean_corrupted_accuracy"]
        out.setdefault(str(per_class), {})[str(seed)] = record
    return out


def summary_table(scale: Scale, results: dict[tuple[int, int], LotteryResult], robustness: dict[str, dict]) -> str:
    """Markdown: per data size, mean and spread over seeds of dense, best ticket, random-prune."""
    rows = []
    for per_class in scale.per_class:
        cells: dict[str, list[float]] = {k: [] for k in ("dense", "ticket", "random", "ticket_test_sel", "dense_c",
                                                         "ticket_c", "random_c", "remaining", "level")}
        for seed in scale.seeds:
            result = results.get((per_class, seed))
            if result is None:
                continue
            dense, ticket = result.levels[0], best_ticket(result)
            random = ticket.branches[BRANCH]
            cells["dense"].append(dense.test_accuracy)
            cells["ticket"].append(ticket.test_accuracy)
            cells["random"].append(random.test_accuracy)
            cells["ticket_test_sel"].append(max(r.test_accuracy_selected_on_test for r in result.levels[1:]))
            cells["remaining"].append(100 * (1 - ticket.sparsity))
            cells["level"].append(ticket.level)
            for key, unit in (("dense_c", dense), ("ticket_c", ticket), ("random_c", random)):
                found = robustness.get(str(Path(unit.run_dir).resolve()))
                if found is not None:
                    cells[key].append(found["mean_corrupted_accuracy"])
        seeds = len(cells["dense"])
        if not seeds:
            continue
        rows.append([
            per_class, seeds, _pm(cells["dense"]), _pm(cells["ticket"]), _pm(cells["random"]),
            f"{summarise(cells['remaining']).mean:.1f}", _pm(cells["dense_c"]), _pm(cells["ticket_c"]),
            _pm(cells["random_c"]), _pm(cells["ticket_test_sel"]),
        ])
    headers = ["per class", "seeds", "dense", "best ticket", "random-prune", "ticket % remaining",
               "dense corrupted", "ticket corrupted", "random-prune corrupted", "ticket, test-selected"]
    return format_table(headers, rows, markdown=True)


def _pm(values: list[float]) -> str:
    """Mean ± sample std (%), the 95% t interval for 5 seeds or fewer, the values where they disagree."""
    return pm(summarise(values)) if values else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="cpu or full (default: cpu)")
    parser.add_argument("--runs-dir", default="runs", help="where the lotteries live (default: runs)")
    parser.add_argument("--out", default=None, help="tables and plots (default: experiments/varma2022/results-<scale>)")
    parser.add_argument("--jobs", type=int, default=1, help="lotteries trained in parallel (default: 1)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads per job (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--seeds", default=None,
                        help="comma-separated seeds, fewer for a quicker run (default: the scale's, 0,1,2)")
    parser.add_argument("--per-class", default=None,
                        help="comma-separated data sizes, a subset of the scale's (default: all, 50,100,1000 on cpu)")
    parser.add_argument("--levels", type=int, default=None,
                        help="IMP levels of 20%% (default: the scale's, 8 on cpu and 16 on full)")
    parser.add_argument("--branch-levels", default=None,
                        help="where the random-prune branch runs: 'best' (only the validation-best level, all the "
                             "comparison needs) or a comma list (default: every level)")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    if args.levels is not None:
        if args.levels < 1:
            parser.error(f"--levels must be 1 or more, got {args.levels}")
        scale = dataclasses.replace(scale, levels=args.levels)
    if args.seeds is not None:
        scale = dataclasses.replace(scale, seeds=comma_ints(parser, "--seeds", args.seeds))
    if args.per_class is not None:
        sizes = comma_ints(parser, "--per-class", args.per_class)
        unknown = sorted(set(sizes) - set(scale.per_class))
        if unknown:
            parser.error(f"--per-class {unknown[0]} is not a data size of the {args.scale} scale "
                         f"({', '.join(map(str, scale.per_class))})")
        scale = dataclasses.replace(scale, per_class=sizes)
    out = Path(args.out or Path(__file__).parent / f"results-{args.scale}")
    points = [(n, s) for n in scale.per_class for s in scale.seeds]
    results: dict[tuple[int, int], LotteryResult] = {}
    seconds: dict[str, float] = {}
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = {pool.submit(_run_one, lottery_config(scale, n, s), args.runs_dir, args.threads, args.device,
                               args.branch_levels): (n, s)
                   for n, s in points}
        for future in concurrent.futures.as_completed(futures):
            n, s = futures[future]
            done = future.result()
            results[(n, s)] = done["result"]
            seconds[f"{n}/{s}"] = done["seconds"]
            print(f"lottery per_class={n} seed={s}: {done['seconds']:.0f}s here, {done['result'].wall_seconds:.0f}s of "
                  f"training in all  {done['result'].run_dir}", file=sys.stderr)
    training_seconds = time.monotonic() - started
    robustness: dict[str, dict] = {}
    robustness_seconds = 0.0
    session = Session(device=args.device, cache_data=True)
    for key in points:
        result = results[key]
        ticket = best_ticket(result)
        for unit in (result.levels[0].run_dir, ticket.run_dir, ticket.branches[BRANCH].run_dir):
            for record in run_robustness(unit, session=session, test_subset=scale.test_subset):
                robustness[str(Path(record["run_dir"]).resolve())] = record
                robustness_seconds += float(record.get("wall_seconds", 0.0))
    out.mkdir(parents=True, exist_ok=True)
    settings = group_settings([Path(results[k].run_dir) for k in points])
    plot_lotteries(settings, out / "lottery.png")
    atomic_write_text(out / "lottery.md", markdown_table(settings))
    table = summary_table(scale, results, robustness)
    atomic_write_text(out / "summary.md", table + "\n")
    atomic_write_json(out / "summary.json", {
        "scale": args.scale, "seeds": list(scale.seeds), "per_class": list(scale.per_class), "levels": scale.levels,
        "branch_levels": args.branch_levels or "every",
        # seconds this invocation spent on each lottery (about 0 for one already finished) and the training
        # time its units recorded over every session that worked on it
        "lottery_seconds": seconds,
        "lottery_training_seconds": {f"{n}/{s}": results[(n, s)].wall_seconds for n, s in points},
        "wall_seconds": time.monotonic() - started,
        "training_wall_seconds": training_seconds, "jobs": args.jobs, "threads": args.threads,
        "lotteries": {f"{n}/{s}": Path(results[(n, s)].run_dir).name for n, s in points},
        # the work: the lotteries' own training seconds and the robustness records' own seconds (a record
        # found finished keeps the seconds it took), whatever this invocation found cached
        "work_seconds": sum(r.wall_seconds for r in results.values()) + robustness_seconds,
        "robustness_seconds": robustness_seconds,
        "per_seed": per_seed(scale, results, robustness),
    })
    print(table)
    print(f"\nresults in {out}  (wall {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
