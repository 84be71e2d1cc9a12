"""Seed 004 (Varma et al., NeurIPS 2022), issue 16: does the IMP curve turn within the paper's
16 levels of 20%, and is the 1,000-per-class control undertrained?

    python experiments/varma2022/levels.py --per-class 50,100 --seeds 0      # what ran here (1 core)
    python experiments/varma2022/levels.py --budget 24ep --per-class 1000 --levels 8 --seeds 0,1,2  # budget control
    python experiments/varma2022/levels.py --budget scaled --per-class 1000  # the paper-like control (20x)
    python experiments/varma2022/levels.py --scale full --device cuda        # the paper's scale

Every lottery is run.py's lottery (same data, model, training and rewinding) with 16 levels
instead of the CPU scale's 8 and the trunk only: no random-prune branches and no corruption
evaluations, which is what halves the cost. ``--budget scaled`` trains every data size for
the epochs of the smallest one, so that the training budget grows with the data (at 1,000
per class 20 times the steps of the fixed-budget run) instead of 600 steps for every size.
The best level is chosen on the validation split, never on the test set. ``--budget 24ep``
trains every size 24 epochs a level (at 1,000 per class 8 times the fixed budget's steps;
budget.py shows how the dense network gains with epochs). Writes ``levels.json``
(``levels-<budget>.json`` with another --budget) and ``levels.png`` to --out.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from run import SCALES, best_ticket, epochs_schedule, lottery_config  # noqa: E402

from ticketlab.atomic import atomic_write_json  # noqa: E402
from ticketlab.runs import Session  # noqa: E402
from ticketlab.runs.lottery_run import run_lottery  # noqa: E402

LEVELS = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="cpu or full (default: cpu)")
    parser.add_argument("--runs-dir", default="runs", help="where the lotteries live (default: runs)")
    parser.add_argument("--out", default=None, help="default: experiments/varma2022/results-<scale>")
    parser.add_argument("--per-class", default="50,100", help="comma-separated data sizes (default: 50,100)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--levels", type=int, default=LEVELS, help=f"IMP levels of 20%% (default: {LEVELS})")
    parser.add_argument("--budget", type=parse_budget, default="fixed",
                        help="fixed: the scale's schedule (600 steps a level on cpu); scaled: every size trains "
                             "the smallest size's epochs; Nep (e.g. 12ep): every size trains N epochs a level "
                             "(default: fixed)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scale = SCALES[args.scale]
    sizes = tuple(int(n) for n in args.per_class.split(","))
    seeds = tuple(int(s) for s in args.seeds.split(","))
    unknown = sorted(set(sizes) - set(scale.schedule))
    if unknown:
        parser.error(f"--per-class {unknown[0]} is not a data size of the {args.scale} scale")
    schedule = dict(scale.schedule)
    if args.budget == "scaled":
        epochs, every = scale.schedule[min(scale.schedule)]
        schedule = {n: (epochs, every) for n in schedule}
    elif args.budget != "fixed":
        epochs = int(args.budget[:-2])
        schedule = {n: epochs_schedule(epochs) for n in schedule}
    scale = dataclasses.replace(scale, levels=args.levels, schedule=schedule)
    out = Path(args.out or Path(__file__).parent / f"results-{args.scale}")
    name = "levels" if args.budget == "fixed" else f"levels-{args.budget}"
    session = Session(device=args.device, log=lambda line: None)
    lotteries: dict[str, Any] = {}
    started = time.monotonic()
    for n in sizes:
        for s in seeds:
            config = lottery_config(scale, n, s)
            result = run_lottery(config, runs_dir=args.runs_dir, session=session)
            best = best_ticket(result)
            lotteries[f"{n}/{s}"] = {
                "per_class": n, "seed": s, "epochs_per_level": schedule[n][0],
                "run_dir": f"runs/{Path(result.run_dir).name}", "wall_seconds": result.wall_seconds,
                "best_level": best.level, "best_remaining": 1 - best.sparsity, "best_test": best.test_accuracy,
                "best_val": best.val_accuracy,
                "levels": [{"level": r.level, "remaining": 1 - r.sparsity, "val": r.val_accuracy,
                            "test": r.test_accuracy, "test_selected_on_test": r.test_accuracy_selected_on_test}
                           for r in result.levels],
            }
            print(f"per_class={n} seed={s}: best level {best.level} ({100 * (1 - best.sparsity):.1f}% left), "
                  f"test {100 * best.test_accuracy:.2f}%, {result.wall_seconds:.0f}s of training", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / f"{name}.json", {
        "scale": args.scale, "levels": args.levels, "budget": args.budget, "per_class": list(sizes),
        "seeds": list(seeds), "lotteries": lotteries,
        # the lotteries' own training seconds (whatever this invocation found cached)
        "work_seconds": sum(v["wall_seconds"] for v in lotteries.values()),
        "threads": args.threads, "device": args.device,
    })
    plot(lotteries, out / f"{name}.png", args.levels)
    print(f"results in {out} (wall {time.monotonic() - started:.0f}s)")
    return 0


def parse_budget(text: str) -> str:
    """``fixed``, ``scaled`` or ``Nep`` (N epochs a level for every data size, N >= 1)."""
    if text in ("fixed", "scaled") or (text.endswith("ep") and text[:-2].isdigit() and int(text[:-2]) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not fixed, scaled or a number of epochs such as 12ep")


def plot(lotteries: dict[str, Any], path: Path, levels: int) -> None:
    """Test and validation accuracy against % of weights remaining, one line per lottery."""
    from ticketlab.plotting import pyplot
    from ticketlab.report.lottery_report import remaining_axis

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for lottery in sorted(lotteries.values(), key=lambda v: (v["per_class"], v["seed"])):
        x = [100 * r["remaining"] for r in lottery["levels"]]
        line, = ax.plot(x, [100 * r["test"] for r in lottery["levels"]], marker="o", ms=3,
                        label=f"{lottery['per_class']}/class, seed {lottery['seed']}: test")
        ax.plot(x, [100 * r["val"] for r in lottery["levels"]], ls="--", color=line.get_color(), alpha=0.6,
                label=f"{lottery['per_class']}/class, seed {lottery['seed']}: validation")
        ax.axvline(100 * lottery["best_remaining"], color=line.get_color(), ls=":", lw=1)
    remaining_axis(ax, min(100 * r["remaining"] for v in lotteries.values() for r in v["levels"]))
    ax.set_xlabel("% of conv weights remaining (log)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"IMP, {levels} levels of 20%: trunk only (dotted: best on validation)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
