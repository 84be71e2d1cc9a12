"""Sparse training against IMP on Fashion-MNIST, at equal sparsity and counted training cost.

    python experiments/sparse_training/run.py --jobs 2              # both models, 3 seeds
    python experiments/sparse_training/run.py --models lenet300 --seeds 0

For each model and seed: IMP (global magnitude, 50% per level, rewound to the
initialisation, 6 levels: 87.5% ... 98.4% sparse) with its dense level 0, and at 90%, 95%
and 98% sparsity: GMP (Zhu & Gupta 2017, dense to the target on the cubic schedule over
the first 75% of training, magnitude under ERK quotas), SET and RigL (Mocanu et al. 2018,
Evci et al. 2020: random x ERK initial mask, updates every 100 steps, drop fraction 0.3
cosine-annealed to 75% of training), and two fixed masks: random x ERK ("static ERK") and
random x uniform ("static random"). At 95% GMP and RigL also retrain their final masks from
their own initialisation (the ``rewind`` branch): are they winning tickets? And at 95% RigL
trains five times as long ("RigL 5x", the RigL paper's extended training).

Every run trains for the same epochs with the same schedule (SGD 0.1, momentum 0.9,
cosine, batch 128). Training FLOPs follow RigL's convention (ticketlab.sparse.flops); an IMP
level's cost is the sum of the costs of every level up to it, each trained under its mask.
CPU scale: LeNet-300-100 on the whole training set, ResNet-20 at half width (8/16/32
channels) on 1,000 examples per class (both tested on the whole test set).

Every run is an ordinary run directory under --runs-dir, so the script resumes; tables and
plots go to --out (results/), the README's numbers come from results/summary.json
(readme.py).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_json
from ticketlab.cli.driver_args import comma_ints, comma_names
from ticketlab.data import DataConfig
from ticketlab.masks import full_mask, load_mask
from ticketlab.models import ModelConfig
from ticketlab.report.plots import plot_metric_by_panel
from ticketlab.runs import Session
from ticketlab.runs.lottery_run import LotteryRunConfig, run_lottery
from ticketlab.runs.sparse_train_run import SparseTrainResult, SparseTrainRunConfig, run_sparse_train
from ticketlab.sparse.config import SparseConfig
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

# model -> (registry name, width, examples per class (None: all), epochs)
MODELS: dict[str, tuple[str, float, int | None, str]] = {
    "lenet300": ("lenet300", 1.0, None, "6ep"),
    "resnet20-half": ("resnet20", 0.5, 1000, "5ep"),
}
SPARSITIES = (0.9, 0.95, 0.98)
TICKET_CHECK = 0.95
IMP_LEVELS = 6
# label -> the sparse-train options besides the sparsity
METHODS: dict[str, dict[str, Any]] = {
    "GMP": {"method": "gmp"},
    "SET": {"method": "set"},
    "RigL": {"method": "rigl"},
    "static ERK": {"method": "static", "score": "random", "quota": "erk"},
    "static random": {"method": "static", "score": "random", "quota": "uniform"},
}
# RigL's extended training (the paper's RigL 5x): five times the epochs, at the ticket-check sparsity only.
EXTENDED = {"RigL 5x": ({"method": "rigl"}, 5)}


def configs(model: str, scale: int = 1) -> tuple[DataConfig, ModelConfig, TrainConfig]:
    """The data, model and training of every run of ``model`` (``scale`` times the epochs)."""
    name, width, per_class, epochs = MODELS[model]
    duration = f"{scale * int(epochs.removesuffix('ep'))}ep"
    return (DataConfig(dataset="fashion-mnist", per_class=per_class), ModelConfig(model=name, width=width),
            TrainConfig(duration=duration, schedule="cosine", lr=0.1, momentum=0.9, batch_size=128))


def row(model: str, seed: int, method: str, target: float, **values: Any) -> dict[str, Any]:
    return {"model": model, "seed": seed, "method": method, "sparsity": target, "remaining": 100 * (1 - target),
            **values}


def sparse_row(model: str, seed: int, method: str, target: float, result: SparseTrainResult,
               scale: int = 1) -> dict[str, Any]:
    """A sparse-train run's row; its FLOPs relative to one dense training of the base epochs."""
    branches = {name: b.test_accuracy for name, b in result.branches.items()}
    flops = None if result.training_flops_ratio is None else scale * result.training_flops_ratio
    return row(model, seed, method, target, realised_sparsity=result.sparsity,
               effective_sparsity=result.effective_sparsity, test_accuracy=result.test_accuracy,
               training_flops_ratio=flops, epochs_scale=scale, mask_updates=result.mask_updates,
               branches=branches, wall_seconds=result.wall_seconds, run_dir=result.run_dir)


def imp_rows(model: str, seed: int, runs_dir: str, session: Session) -> tuple[list[dict[str, Any]], float]:
    """IMP's dense level and its levels nearest each target sparsity, with their cumulative training cost."""
    from ticketlab.models import build_from_config
    from ticketlab.sparse.flops import layer_macs, sparse_forward

    data, model_config, train = configs(model)
    lottery = run_lottery(LotteryRunConfig(data=data, model=model_config, train=train,
                                           lottery=LotteryConfig(levels=IMP_LEVELS, prune_fraction=0.5), seed=seed),
                          runs_dir=runs_dir, session=session)
    info = session.load_data(data).info
    network = build_from_config(model_config, info.image_shape, info.num_classes, seed=0)
    macs = layer_macs(network, info.image_shape)
    dense = sparse_forward(macs, full_mask(network))
    costs, total = [], 0.0
    for level in lottery.levels:
        mask = full_mask(network) if level.level == 0 else load_mask(Path(level.run_dir) / "mask.npz")
        total += sparse_forward(macs, mask) / dense
        costs.append(total)
    rows = [row(model, seed, "dense", 0.0, realised_sparsity=0.0, effective_sparsity=0.0,
                test_accuracy=lottery.levels[0].test_accuracy, training_flops_ratio=1.0, level=0,
                wall_seconds=None, run_dir=lottery.levels[0].run_dir)]
    for target in SPARSITIES:
        level = min(lottery.levels[1:], key=lambda lv: abs(lv.sparsity - target))
        rows.append(row(model, seed, "IMP", target, realised_sparsity=level.sparsity,
                        effective_sparsity=level.effective_sparsity, test_accuracy=level.test_accuracy,
                        training_flops_ratio=costs[level.level], level=level.level, wall_seconds=None,
                        run_dir=level.run_dir))
    return rows, lottery.wall_seconds


def run_point(model: str, seed: int, runs_dir: str, threads: int, device: str) -> dict[str, Any]:
    """Every run of one model and seed; the rows and the runs' own wall seconds."""
    import torch

    torch.set_num_threads(threads)
    session = Session(device=device, cache_data=True, log=lambda line: None)
    started = time.monotonic()
    data, model_config, train = configs(model)
    rows, work = imp_rows(model, seed, runs_dir, session)
    for target in SPARSITIES:
        for label, options in METHODS.items():
            branches = ("rewind",) if target == TICKET_CHECK and label in ("GMP", "RigL") else ()
            config = SparseTrainRunConfig(data=data, model=model_config, train=train,
                                          sparse=SparseConfig(sparsity=target, **options), seed=seed)
            result = run_sparse_train(config, runs_dir=runs_dir, session=session, branches=branches)
            rows.append(sparse_row(model, seed, label, target, result))
            work += result.wall_seconds
    for label, (options, scale) in EXTENDED.items():
        data, model_config, train = configs(model, scale)
        config = SparseTrainRunConfig(data=data, model=model_config, train=train,
                                      sparse=SparseConfig(sparsity=TICKET_CHECK, **options), seed=seed)
        result = run_sparse_train(config, runs_dir=runs_dir, session=session)
        rows.append(sparse_row(model, seed, label, TICKET_CHECK, result, scale))
        work += result.wall_seconds
    return {"rows": rows, "seconds": time.monotonic() - started, "work": work}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="tables and plots")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {', '.join(MODELS)} (default: all)")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds (default: 0,1,2)")
    parser.add_argument("--jobs", type=int, default=1, help="(model, seed) points run in parallel (default: 1)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads per job (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    models = comma_names(parser, "--models", args.models, MODELS)
    seeds = list(comma_ints(parser, "--seeds", args.seeds))
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    work: dict[str, float] = {}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = {pool.submit(run_point, m, s, args.runs_dir, args.threads, args.device): (m, s)
                   for m in models for s in seeds}
        for future in concurrent.futures.as_completed(futures):
            m, s = futures[future]
            done = future.result()
            rows += done["rows"]
            work[f"{m}/{s}"] = done["work"]
            print(f"{m} seed {s}: {done['seconds']:.0f}s", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for r in rows:  # committed files name runs relative to the runs directory
        r["run_dir"] = "runs/" + Path(r["run_dir"]).absolute().relative_to(Path(args.runs_dir).absolute()).as_posix()
    sparse = [r for r in rows if r["method"] != "dense"]
    plot_metric_by_panel(sparse, out / "accuracy_vs_flops.png", x_key="training_flops_ratio", panel_key="model",
                         line_key="method", group_key="sparsity", x_label="training FLOPs relative to dense training",
                         title="Fashion-MNIST: accuracy against training cost (90%, 95%, 98% sparse)")
    plot_metric_by_panel(sparse, out / "accuracy.png", x_key="remaining", panel_key="model", line_key="method",
                         group_key="sparsity", x_label="% of weights remaining", reverse_x=True,
                         title="Fashion-MNIST: sparse training against IMP")
    atomic_write_json(out / "summary.json", {
        "rows": sorted(rows, key=lambda r: (r["model"], r["method"], r["sparsity"], r["seed"])),
        "models": {m: dict(zip(("model", "width", "per_class", "epochs"), MODELS[m])) for m in models},
        "work_seconds": work, "wall_seconds": time.monotonic() - started, "jobs": args.jobs,
        "threads": args.threads, "device": args.device})
    print(f"results in {out} (wall {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
