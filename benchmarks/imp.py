"""One IMP level of LeNet-300-100 on Fashion-MNIST: ticketlab against torch.nn.utils.prune.

Both sides start from the same trained level 0 and the same initialisation, prune 20% of
the weights by global magnitude, rewind the survivors to the initialisation and train
for the same epochs over the same batches (``train_batches`` with the same seed), with
the same SGD settings and cosine schedule, evaluating on the test set after each epoch.

- ticketlab: ``run_level`` of a real lottery directory, so its time includes everything a
  level does: pruning, mask and checkpoint files, metrics, the effective-sparsity report.
- baseline: a hand-written loop with ``prune.global_unstructured(..., L1Unstructured)``
  and ``prune.custom_from_mask`` (the weight is recomputed as weight_orig * mask in every
  forward pass), the way torch users write IMP.

Target: ticketlab / baseline <= 1.0. Run: ``python benchmarks/imp.py``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from ticketlab.data import DataConfig, train_batches
from ticketlab.models import ModelConfig
from ticketlab.report import format_table
from ticketlab.runs import Session
from ticketlab.runs.kind import Job
from ticketlab.runs.lottery_run import LOTTERY, LotteryRunConfig, run_level, run_lottery
from ticketlab.runs.store import load_torch_file
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig, evaluate, learning_rate


def ticketlab_level(lottery: Job[LotteryRunConfig]) -> float:
    shutil.rmtree(lottery.run.path / "level-1", ignore_errors=True)
    start = time.perf_counter()
    run_level(lottery, 1, 0, [])
    return time.perf_counter() - start


def baseline_level(lottery: Job[LotteryRunConfig]) -> float:
    config = lottery.config
    data = lottery.data
    start = time.perf_counter()
    trained = lottery.build()
    trained.load_state_dict(load_torch_file(lottery.run.file("level-0/model_final.pt"))["state"]["model"])
    layers = [m for m in trained.modules() if isinstance(m, nn.Linear)]
    prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured,
                              amount=config.lottery.prune_fraction)
    masks = [m.weight_mask.clone() for m in layers]
    model = lottery.build()
    model.load_state_dict(load_torch_file(lottery.run.file("model_init.pt"))["state"]["model"])
    for module, mask in zip([m for m in model.modules() if isinstance(m, nn.Linear)], masks):
        prune.custom_from_mask(module, "weight", mask)
    train = config.train
    optimizer = torch.optim.SGD(model.parameters(), lr=train.lr, momentum=train.momentum, weight_decay=train.weight_decay)
    per_epoch = -(-int(data.train.y.shape[0]) // train.batch_size)
    total = train.length.to_steps(per_epoch)
    step = 0
    for epoch in range(train.length.amount):
        model.train()
        for x, y in train_batches(data.train, train.batch_size, seed=config.seed, epoch=epoch):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(train, step, total, per_epoch)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
        evaluate(model, data.test)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per level (default: 2)")
    parser.add_argument("--repeats", type=int, default=5, help="levels timed per side (default: 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(tempfile.mkdtemp(prefix="imp-bench-"))
    config = LotteryRunConfig(
        data=DataConfig(dataset="fashion-mnist"),
        model=ModelConfig(model="lenet300"),
        train=TrainConfig(duration=f"{args.epochs}ep", weight_decay=1e-4),
        lottery=LotteryConfig(levels=0, prune_fraction=0.2),
    )
    session = Session(cache_data=True)
    run_lottery(config, runs_dir=root, session=session)  # level 0, shared and not timed
    lottery = LOTTERY.job(config, root, session, LOTTERY.with_options({}))
    times: dict[str, list[float]] = {"ticketlab": [], "torch.nn.utils.prune": []}
    for r in range(args.repeats):
        order = [("ticketlab", ticketlab_level), ("torch.nn.utils.prune", baseline_level)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            times[name].append(fn(lottery))
    median = {k: statistics.median(v) for k, v in times.items()}
    print(format_table(["contender", "median s/level", "runs"], [[k, f"{v:.3f}", len(times[k])] for k, v in median.items()]))
    ratio = median["ticketlab"] / median["torch.nn.utils.prune"]
    print(f"\ntarget ticketlab / torch.nn.utils.prune <= 1.0: measured {ratio:.3f} ({args.epochs} epochs per level)")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
