"""Seed 001 (Burkholz, ICML 2022) at CPU scale on Fashion-MNIST: sparse targets rebuilt
from random networks by the depth-2L and depth-(L+1) constructions.

    python experiments/burkholz2022/run.py [--runs-dir runs] [--scale cpu|full] [--out DIR]

Two targets, each pruned by magnitude with an exponentially annealed density over 12 steps
and trained between steps (seed 001's recipe, with training shortened for 2 CPU cores):
the 3-layer CNN (conv 3x3 1->32, conv 3x3 32->32, linear) at 10% density per layer, and a
ResNet-20 at 45% density per layer. Each is then built by burkholz-2l (cnn3: its conv
layers) and burkholz-l1 for a few n, from 5 independent random sources on cnn3 (one on
ResNet-20), with the target rescaled first (the default) and as trained (--rescale 0).
Every target and construction is an ordinary run directory, so the script resumes;
``README.md``'s tables come from ``results/summary.json`` (``readme.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ticketlab.atomic import atomic_write_json
from ticketlab.data import DataConfig
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import ModelConfig
from ticketlab.runs import Session
from ticketlab.runs.strong_run import StrongConfig, run_strong
from ticketlab.runs.target_run import TargetRunConfig, run_target
from ticketlab.strong.anneal import AnnealConfig
from ticketlab.training import TrainConfig

CPU_TARGETS = {
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
# Seed 001's own scale, for GPUs (MNIST and CIFAR-10 files in the data directory): 50
# epochs between pruning steps for both targets. An estimate from our CPU epoch times and
# common GPU throughput, not a measurement: cnn3's 13 x 50 epochs of MNIST take about half
# a GPU-hour on one modern GPU, ResNet-20's 13 x 50 epochs of CIFAR-10 about two; the L+1
# constructions of ResNet-20 need tens of GiB of memory at n >= 8.
FULL_TARGETS = {
    "cnn3 @ 10%": TargetRunConfig(
        data=DataConfig(dataset="mnist"),
        model=ModelConfig(model="cnn3"),
        train=TrainConfig(duration="50ep", optimizer="adam", lr=0.001, batch_size=64, schedule="constant"),
        anneal=AnnealConfig(density=0.1, steps=12, scope="layerwise"),
    ),
    "resnet20 @ 45%": TargetRunConfig(
        data=DataConfig(dataset="cifar10", augment="crop+flip"),
        model=ModelConfig(model="resnet20"),
        train=TrainConfig(duration="50ep", batch_size=128, weight_decay=1e-4),
        prunable=PrunableSpec("conv,linear"),
        anneal=AnnealConfig(density=0.45, steps=12, scope="layerwise"),
    ),
}
TARGETS = {"cpu": CPU_TARGETS, "full": FULL_TARGETS}
# (construction, n, layers, test examples the accuracies are measured on, test examples the
# float64 output errors are measured on): the sources are large and float64 convolutions
# slow, so the accuracies use the first 2,000 test images (500 for ResNet-20, whose
# sources hold millions of weights, each construction at one n). 2L
# rebuilds cnn3's conv layers only: its dense expand layer for the linear layer (18,432
# inputs) would hold 18,432 * 18,432 * n random weights, 27 GB at n = 10.
CONSTRUCTIONS = {
    "cnn3 @ 10%": [("burkholz-2l", 10, "conv", 2000, 200), ("burkholz-2l", 20, "conv", 2000, 200),
                   ("burkholz-2l", 30, "conv", 2000, 200), ("burkholz-l1", 10, "all", 2000, 200),
                   ("burkholz-l1", 20, "all", 2000, 200)],
    "resnet20 @ 45%": [("burkholz-2l", 20, "all", 500, 100), ("burkholz-l1", 8, "all", 500, 100)],
}
# The construction as it is now (the target rescaled first, the default) and as it was
# (--rescale 0), on the same random sources; only at each construction's largest n.
SETTINGS = {"rescaled": StrongConfig().rescale, "as trained": 0.0}
# Independent random sources (the run's --seed) per setting, at each construction's largest
# n (smaller n: one). Seed 001's code averages 5 on its CNN; the L+1 sources are large, and
# ResNet-20's are slow to evaluate, so fewer there (2 CPU cores).
DRAWS = {
    ("cnn3 @ 10%", "rescaled"): {"burkholz-2l": 5, "burkholz-l1": 5},
    ("cnn3 @ 10%", "as trained"): {"burkholz-2l": 5, "burkholz-l1": 2},
    ("resnet20 @ 45%", "rescaled"): {"burkholz-2l": 1, "burkholz-l1": 1},
    ("resnet20 @ 45%", "as trained"): {"burkholz-2l": 1, "burkholz-l1": 1},
}


def points(name: str) -> list[tuple[str, float, str, int, str, int, int, int]]:
    """(setting, rescale, construction, n, layers, test examples, error examples, draw) of one target."""
    found = []
    for setting, rescale in SETTINGS.items():
        for construction, n, layers, examples, errors in CONSTRUCTIONS[name]:
            largest = n == max(c[1] for c in CONSTRUCTIONS[name] if c[0] == construction)
            if setting != "rescaled" and not largest:
                continue
            draws = DRAWS[(name, setting)][construction] if largest else 1
            found += [(setting, rescale, construction, n, layers, examples, errors, d) for d in range(draws)]
    return found


def relative(path: str) -> str:
    """A run directory as ``runs/<name>`` (no machine-local path in committed files)."""
    return f"runs/{Path(path).name}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--scale", choices=sorted(TARGETS), default="cpu",
                        help="cpu (Fashion-MNIST, shortened training) or full (seed 001's data and training, for "
                        "GPUs) (default: cpu)")
    parser.add_argument("--out", default=None,
                        help="summary.json (default: experiments/burkholz2022/results, results-full for --scale full)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where networks train and run (default: cpu)")
    args = parser.parse_args()
    session = Session(log=lambda line: print(line, file=sys.stderr), cache_data=True, device=args.device)
    records: dict[str, dict] = {}
    work = 0.0
    for name, config in TARGETS[args.scale].items():
        target = run_target(config, runs_dir=args.runs_dir, session=session)
        work += target.wall_seconds
        target_record = target.to_json()
        target_record["run_dir"] = relative(target.run_dir)
        for step in target_record.get("steps", []):
            step["run_dir"] = f"{relative(target.run_dir)}/{Path(step['run_dir']).name}"
        records[name] = {"target": target_record, "constructions": []}
        for setting, rescale, construction, n, layers, examples, errors, draw in points(name):
            strong = StrongConfig(construction=construction, n=n, layers=layers, test_examples=examples,
                                  error_examples=errors, rescale=rescale, explain=True)
            result = run_strong(target.run_dir, strong, seed=draw, runs_dir=args.runs_dir, session=session)
            work += result.wall_seconds
            row = result.to_json()
            row.update(setting=setting, draw=draw, layers=layers, run_dir=relative(result.run_dir),
                       target=relative(result.target))
            records[name]["constructions"].append(row)
            print(f"{name} {setting} {construction} n={n} draw {draw}: weight error "
                  f"{result.max_rel_weight_error:.2e}, ticket {100 * result.ticket_test_accuracy:.2f}% "
                  f"(target {100 * result.target_test_accuracy:.2f}%)", file=sys.stderr)
    suffix = "" if args.scale == "cpu" else f"-{args.scale}"
    out = Path(args.out or Path(__file__).parent / f"results{suffix}")
    out.mkdir(parents=True, exist_ok=True)
    # work_seconds: the runs' own seconds (a rerun that finds every run finished takes seconds).
    atomic_write_json(out / "summary.json", {"results": records, "settings": SETTINGS,
                                             "work_seconds": work, "device": args.device,
                                             "cpu_cores": os.cpu_count()})
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
