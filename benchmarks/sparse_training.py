"""Time per epoch of ticketlab's sparse training methods (rigl, set, gmp) against its fixed mask (static).

LeNet-300-100 on Fashion-MNIST at 90% sparsity, batch 128, SGD with momentum 0.9 and
weight decay 5e-4, in one process, over the same batches (the run's seed 0 feeds every
contender; each starts from the same initialisation). Every contender goes through the
code path of ``ticketlab sparse-train``: its run config (``SparseTrainRunConfig``), the
model the run builds, its initial mask (``find_initial_mask``: random x ERK for static,
set and rigl, the same mask for all three; dense for gmp) and the :class:`Trainer`
driven by the run's :class:`MovingMask` callback, as ``train_run`` wires them (without
the run directory's files: checkpoints and metrics.jsonl).

Each run is scheduled for 3 epochs with the method defaults: rigl and set update every
100 steps, drop fraction 0.3 cosine-annealed, the last update before 75% of the run;
gmp prunes every 100 steps from dense to 90% along the cubic schedule, from 0% to 75%
of the run. The timed epoch is the second (steps 470 to 938 of 1407), inside the
update window of every method, so it contains 5 mask updates (rigl: 5 steps with the
dense gradient) or prunings, whose work is part of its time; the run stops after it.
An epoch's time runs from the end of the first epoch to the end of the second, so it
includes the test-set evaluation and the callback's epoch metrics (sparsity, effective
sparsity, mask change). Each repetition runs every contender once, in rotating order;
the table reports the median seconds per epoch and its ratio to static, the target's.

It also reports the part of the epoch spent in the callback's hooks (the method's own
work: the dense-gradient copy, the mask updates, the epoch metrics) and, as "by
callback", the ratio that work implies: static's epoch plus the callback's extra
seconds, over static's epoch. The contenders' loops differ only in that work, so this
estimate is far less sensitive to the load of a shared machine than the measured ratio.

Targets: rigl / static <= 1.15, gmp / static <= 1.05 (set / static is reported).
Run: ``python benchmarks/sparse_training.py [--threads 1] [--json]``; ``--quick`` (one
repetition on 2,000 training examples per class: 157 batches per epoch, 2 updates in
the timed epoch) only checks that it runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ticketlab.data import DataBundle, load_data
from ticketlab.data.config import DataConfig
from ticketlab.models.config import ModelConfig
from ticketlab.pruning.structures import structure_for
from ticketlab.report import format_table
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job
from ticketlab.runs.sparse_train_run import SparseTrainRunConfig, find_initial_mask
from ticketlab.runs.store import RunDirectory
from ticketlab.sparse import SPARSE_METHODS, MovingMask, SparseConfig, layer_macs
from ticketlab.training import TrainConfig, Trainer

BATCH = 128
LR, MOMENTUM, WD = 0.1, 0.9, 5e-4
SPARSITY = 0.9
EPOCHS = 3  # the run's length: the schedules' fractions are of these epochs
TIMED = 1  # the 0-based epoch that is timed, from the end of the one before (so >= 1); the run stops after it
METHODS = ("static", "rigl", "set", "gmp")
TARGETS = {"rigl": 1.15, "gmp": 1.05}
QUICK_PER_CLASS = 2000  # --quick: 20,000 training examples, 157 batches per epoch
RUNS_DIR = Path("runs")  # only names the run (its hash); nothing is written


class TimedMovingMask(MovingMask):
    """The run's :class:`MovingMask`, also counting the seconds spent in its hooks (the method's own work)."""

    seconds = 0.0

    def after_backward(self, trainer: Trainer) -> None:
        start = time.perf_counter()
        super().after_backward(trainer)
        self.seconds += time.perf_counter() - start

    def after_step(self, trainer: Trainer) -> None:
        start = time.perf_counter()
        super().after_step(trainer)
        self.seconds += time.perf_counter() - start

    def epoch_metrics(self, trainer: Trainer) -> dict[str, Any]:
        start = time.perf_counter()
        metrics = super().epoch_metrics(trainer)
        self.seconds += time.perf_counter() - start
        return metrics


class _Stop(Exception):
    """Raised once the timed epoch has ended: the rest of the run is not needed."""


def run_config(method: str, data: DataConfig) -> SparseTrainRunConfig:
    """The ``sparse-train`` config of one contender: the method's defaults at 90% sparsity."""
    train = TrainConfig(duration=f"{EPOCHS}ep", batch_size=BATCH, lr=LR, momentum=MOMENTUM, weight_decay=WD)
    return SparseTrainRunConfig(data=data, model=ModelConfig(model="lenet300"), train=train,
                                sparse=SparseConfig(method=method, sparsity=SPARSITY), seed=0)


def run_method(method: str, data: DataBundle, data_config: DataConfig) -> tuple[float, float, int]:
    """Seconds of the timed epoch of ``method``, the seconds of it spent in the callback, its mask updates."""
    config = run_config(method, data_config)
    job = Job(config, RunDirectory(RUNS_DIR, config), Session(), _data=data)
    model = job.build()
    shape = data.info.image_shape
    start = find_initial_mask(job, model)
    moving = TimedMovingMask(SPARSE_METHODS.get(method), config.sparse, start, seed=config.seed, input_shape=shape,
                            macs=layer_macs(model, shape), structure=structure_for(config.sparse.structure, model))
    trainer = Trainer(model, data, config.train, seed=config.seed, mask=start, augment=config.data.augment,
                      crop_padding=config.data.crop_padding, eval_batch_size=job.session.eval_batch_size,
                      callbacks=(moving,))
    marks: list[tuple[float, float, int]] = []

    def on_epoch_end(_: dict[str, object]) -> None:
        marks.append((time.perf_counter(), moving.seconds, moving.updates))
        if len(marks) > TIMED:
            raise _Stop

    try:
        trainer.run(on_epoch_end=on_epoch_end)
    except _Stop:
        pass
    (begin, hooks_before, updates_before), (end, hooks_after, updates_after) = marks[TIMED - 1], marks[TIMED]
    return end - begin, hooks_after - hooks_before, updates_after - updates_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per contender (default: 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a check that it runs: 1 repetition on {QUICK_PER_CLASS} training examples per class "
                        "(timed epoch: 2 updates)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    data_config = DataConfig(dataset="fashion-mnist", per_class=QUICK_PER_CLASS if args.quick else None)
    data = load_data(data_config)
    run_method("static", data, data_config)  # warm-up: allocator, thread pool, lazy imports
    names = list(METHODS)
    times: dict[str, list[float]] = {n: [] for n in names}
    hooks: dict[str, list[float]] = {n: [] for n in names}
    updates: dict[str, list[int]] = {n: [] for n in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            seconds, in_hooks, moved = run_method(name, data, data_config)
            times[name].append(seconds)
            hooks[name].append(in_hooks)
            updates[name].append(moved)
    median = {n: statistics.median(t) for n, t in times.items()}
    median_hooks = {n: statistics.median(t) for n, t in hooks.items()}
    ratio = {n: median[n] / median["static"] for n in names}
    # The contenders differ only in the callback's work: static's epoch plus the extra time spent
    # in the hooks estimates each ratio without the machine's noise in the epochs' difference.
    work = {n: (median["static"] + median_hooks[n] - median_hooks["static"]) / median["static"] for n in names}
    met = {n: ratio[n] <= target for n, target in TARGETS.items()}
    rows = [[n, f"{median[n]:.3f}", f"{median_hooks[n]:.3f}", str(updates[n][0]), f"{ratio[n]:.3f}", f"{work[n]:.3f}",
             f"<= {TARGETS[n]:.2f}" if n in TARGETS else "-", ("yes" if met[n] else "NO") if n in TARGETS else "-"]
            for n in names]
    print(format_table(["method", "median s/epoch", "in callback s", "updates in epoch", "this / static",
                        "by callback", "target", "met"], rows))
    examples = int(data.train.y.shape[0])
    print(f"\n{examples} training examples, epoch {TIMED + 1} of {EPOCHS} timed, median of {repeats}, "
          f"{args.threads} threads; in callback: the part of the epoch spent in MovingMask's hooks; by callback: "
          "(static's epoch + this callback's extra seconds) / static's epoch")
    for n, target in TARGETS.items():
        print(f"target {n} / static <= {target:.2f}: measured {ratio[n]:.3f} ({'met' if met[n] else 'MISSED'})")
    if args.json:
        print(json.dumps({"median_seconds": median, "all_seconds": times, "median_callback_seconds": median_hooks,
                          "all_callback_seconds": hooks, "ratio_to_static": ratio,
                          "ratio_by_callback": work, "targets": TARGETS, "met": met,
                          "updates_in_epoch": updates, "threads": args.threads, "repeats": repeats,
                          "quick": args.quick, "train_examples": examples, "timed_epoch": TIMED + 1,
                          "epochs": EPOCHS}, indent=2))


if __name__ == "__main__":
    main()
