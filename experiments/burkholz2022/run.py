"""Seed 001 (Burkholz, ICML 2022) at CPU scale on Fashion-MNIST: sparse targets rebuilt
from random networks by the depth-2L and depth-(L+1) constructions.

    python experiments/burkholz2022/run.py [--runs-dir runs] [--out experiments/burkholz2022/results]

Two targets, each pruned by magnitude with an exponentially annealed density over 12 steps
and trained between steps (seed 001's recipe, with training shortened for 2 CPU cores):
the 3-layer CNN (conv 3x3 1->32, conv 3x3 32->32, linear) at 10% density per layer, and a
ResNet-20 at 45% density per layer. Each is then built by burkholz-2l (cnn3: its conv
layers) and burkholz-l1 for a few n. Every target and construction is an ordinary run directory, so the script resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ticketlab.atomic import atomic_write_json, atomic_write_text
from ticketlab.data import DataConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import ModelConfig
from ticketlab.report.table import format_table, percent
from ticketlab.runs import Session
from ticketlab.runs.strong_run import StrongConfig, run_strong
from ticketlab.runs.target_run import TargetRunConfig, run_target
from ticketlab.strong.anneal import AnnealConfig
from ticketlab.training import TrainConfig

TARGETS = {
    # seed 001: trained 50 epochs between pruning steps; here 2 (12 steps + dense start).
    "cnn3 @ 10%": TargetRunConfig(
        data=DataConfig(dataset="fashion-mnist"),
        model=ModelConfig(model="cnn3"),
        train=TrainConfig(duration="2ep", optimizer="adam", lr=0.001, batch_size=64, schedule="constant"),
        anneal=AnnealConfig(density=0.1, steps=12, scope="layerwise"),
    ),
    # CIFAR-10 in seed 001; here Fashion-MNIST, 300 examples per class, 1 epoch per step.
    "resnet20 @ 45%": TargetRunConfig(
        data=DataConfig(dataset="fashion-mnist", per_class=300),
        model=ModelConfig(model="resnet20"),
        train=TrainConfig(duration="1ep", batch_size=64, weight_decay=1e-4),
        prunable=PrunableSpec("conv,linear"),
        anneal=AnnealConfig(density=0.45, steps=12, scope="layerwise"),
    ),
}
# (construction, n, layers, test examples the accuracies are measured on): the L+1 sources
# are large. 2L rebuilds cnn3's conv layers only: its dense expand layer for the linear
# layer (18,432 inputs) would hold 18,432 * 18,432 * n random weights, 27 GB at n = 10.
CONSTRUCTIONS = {
    "cnn3 @ 10%": [("burkholz-2l", 10, "conv", None), ("burkholz-2l", 20, "conv", None),
                   ("burkholz-2l", 30, "conv", None), ("burkholz-l1", 10, "all", 2000),
                   ("burkholz-l1", 20, "all", 2000)],
    "resnet20 @ 45%": [("burkholz-2l", 10, "all", 2000), ("burkholz-2l", 20, "all", 2000),
                       ("burkholz-l1", 4, "all", 500), ("burkholz-l1", 8, "all", 500)],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="tables")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where networks train and run (default: cpu)")
    args = parser.parse_args()
    session = Session(log=lambda line: print(line, file=sys.stderr), cache_data=True, device=args.device)
    started = time.monotonic()
    rows, records = [], {}
    for name, config in TARGETS.items():
        target = run_target(config, runs_dir=args.runs_dir, session=session)
        records[name] = {"target": target.to_json(), "constructions": []}
        for construction, n, layers, examples in CONSTRUCTIONS[name]:
            strong = StrongConfig(construction=construction, n=n, layers=layers, test_examples=examples,
                                  error_examples=min(examples or 1000, 1000) if construction == "burkholz-2l" else 200)
            result = run_strong(target.run_dir, strong, runs_dir=args.runs_dir, session=session)
            records[name]["constructions"].append(result.to_json())
            rows.append([name, construction, n, layers, f"{result.target_nonzeros:,}", f"{result.ticket_nonzeros:,}",
                         f"{result.ticket_nonzeros / max(result.target_nonzeros, 1):.1f}",
                         f"{result.source_parameters:,}", f"{result.max_rel_weight_error:.2e}",
                         f"{result.max_rel_output_error:.2e}", percent(result.target_test_accuracy),
                         percent(result.ticket_test_accuracy), result.test_examples,
                         f"{result.solve_seconds:.0f}"])
    headers = ["target", "construction", "n", "layers", "target nonzeros", "ticket nonzeros", "ticket / target",
               "random params", "max rel weight error", "max rel output error", "target acc", "ticket acc",
               "test examples", "solve s"]
    table = format_table(headers, rows, markdown=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.md", table + "\n")
    atomic_write_json(out / "summary.json", {"results": records, "wall_seconds": time.monotonic() - started})
    print(table)
    print(f"\nresults in {out} (wall {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
