"""Seed 004 (Varma et al., NeurIPS 2022), issue 16: how many epochs does the dense network need
at 1,000 examples per class before it stops gaining? The budget control of levels.py is only a
control if its budget is past that point.

    python experiments/varma2022/budget.py --per-class 1000 --epochs 3,6,12,24,48 --seeds 0   # what ran here

Each point is the dense level 0 of run.py's lottery (same data split, model, optimiser,
cosine schedule over the whole run, augmentation) trained for the given epochs instead of
the scale's schedule; the checkpoint is chosen on the validation split as in the lottery.
Writes ``budget.json`` to --out (default: results-<scale>).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).parent))
from run import SCALES, epochs_schedule, lottery_config  # noqa: E402

from ticketlab.atomic import atomic_write_json  # noqa: E402
from ticketlab.cli.driver_args import comma_ints  # noqa: E402
from ticketlab.runs import Session  # noqa: E402
from ticketlab.runs.lottery_run import run_lottery  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu", help="cpu or full (default: cpu)")
    parser.add_argument("--runs-dir", default="runs", help="where the training runs live (default: runs)")
    parser.add_argument("--out", default=None, help="default: experiments/varma2022/results-<scale>")
    parser.add_argument("--per-class", type=int, default=1000, help="the data size (default: 1000)")
    parser.add_argument("--epochs", default="3,6,12,24,48",
                        help="comma list of training epochs (default: 3,6,12,24,48)")
    parser.add_argument("--seeds", default="0", help="comma list of seeds (default: 0)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    args.epochs = comma_ints(parser, "--epochs", args.epochs)
    args.seeds = comma_ints(parser, "--seeds", args.seeds)
    if min(args.epochs) < 1:
        parser.error("--epochs: every budget needs at least 1 epoch")
    torch.set_num_threads(args.threads)
    base = SCALES[args.scale]
    if args.per_class not in base.schedule:
        parser.error(f"--per-class {args.per_class} is not a data size of the {args.scale} scale")
    session = Session(device=args.device, log=lambda line: None)
    points: list[dict[str, Any]] = []
    for epochs in args.epochs:
        scale = dataclasses.replace(base, levels=0, schedule={args.per_class: epochs_schedule(epochs)})
        for seed in args.seeds:
            result = run_lottery(lottery_config(scale, args.per_class, seed), runs_dir=args.runs_dir, session=session)
            dense = result.levels[0]
            points.append({"epochs": epochs, "seed": seed, "steps": last_step(Path(result.run_dir) / "level-0"),
                           "selected_epoch": dense.selected_epoch,
                           "val": dense.val_accuracy, "test": dense.test_accuracy,
                           "run_dir": f"runs/{Path(result.run_dir).name}", "wall_seconds": result.wall_seconds})
            print(f"{epochs} epochs, seed {seed}: val {100 * dense.val_accuracy:.1f}%, "
                  f"test {100 * dense.test_accuracy:.2f}% ({result.wall_seconds:.0f}s)", file=sys.stderr)
    out = Path(args.out or Path(__file__).parent / f"results-{args.scale}")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "budget.json", {
        "scale": args.scale, "per_class": args.per_class, "fixed_epochs": base.schedule[args.per_class][0],
        "points": points, "work_seconds": sum(p["wall_seconds"] for p in points),
        "threads": args.threads, "device": args.device,
    })
    print(f"results in {out / 'budget.json'}")
    return 0


def last_step(unit: Path) -> int:
    """The optimiser steps a training unit took: the step of its last metrics row."""
    rows = (unit / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return int(json.loads(rows[-1])["step"])


if __name__ == "__main__":
    sys.exit(main())
