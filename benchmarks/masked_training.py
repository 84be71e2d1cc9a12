"""Time per epoch of ticketlab's masked training against hand-written baselines.

LeNet-300-100 on Fashion-MNIST under a 90%-sparse uniform random mask, batch 128, SGD
with momentum 0.9 and weight decay 5e-4, in one process, over the same batches (epoch 0 of
``train_batches`` with seed 0 feeds every contender, each starting from the same init). Each repetition runs every contender
for one epoch plus one test-set evaluation, in rotating order; the table reports the
median seconds per epoch and the ratio to the baselines:

- plain-masked: the loop a researcher writes by hand, multiplying each layer's gradient
  and weight by its mask around ``optimizer.step()``;
- plain-dense: the same loop with no mask at all (a floor: it does strictly less work);
- torch-prune: ``torch.nn.utils.prune.custom_from_mask`` on every layer (the weight is
  recomputed as ``weight_orig * weight_mask`` in every forward pass).

Target: ticketlab / plain-masked <= 1.05. Run: ``python benchmarks/masked_training.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from ticketlab.data import DataBundle, load_data, train_batches
from ticketlab.data.config import DataConfig
from ticketlab.masks import Mask, full_mask, uniform_random_mask
from ticketlab.models import build_model
from ticketlab.report import format_table
from ticketlab.training import TrainConfig, Trainer, evaluate

BATCH = 128
LR, MOMENTUM, WD = 0.1, 0.9, 5e-4


def fresh_model(data: DataBundle) -> nn.Module:
    return build_model("lenet300", data.info.image_shape, data.info.num_classes, seed=0)


def make_mask(model: nn.Module) -> Mask:
    return uniform_random_mask(full_mask(model), 0.9, torch.Generator().manual_seed(0))


def sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)


def run_ticketlab(data: DataBundle) -> float:
    model = fresh_model(data)
    config = TrainConfig(duration="1ep", batch_size=BATCH, lr=LR, momentum=MOMENTUM, weight_decay=WD)
    trainer = Trainer(model, data, config, seed=0, mask=make_mask(model))
    start = time.perf_counter()
    trainer.run()
    return time.perf_counter() - start


def plain_loop(data: DataBundle, model: nn.Module, after_backward: Callable[[], None],
               after_step: Callable[[], None]) -> float:
    optimizer = sgd(model)
    start = time.perf_counter()
    model.train()
    for x, y in train_batches(data.train, BATCH, seed=0, epoch=0):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        after_backward()
        optimizer.step()
        after_step()
    evaluate(model, data.test)
    return time.perf_counter() - start


def run_plain_masked(data: DataBundle) -> float:
    model = fresh_model(data)
    params = dict(model.named_parameters())
    pairs = [(params[n], m.float()) for n, m in make_mask(model).items()]
    with torch.no_grad():
        for p, m in pairs:
            p.mul_(m)

    def mask_grads() -> None:
        for p, m in pairs:
            p.grad.mul_(m)

    @torch.no_grad()
    def mask_weights() -> None:
        for p, m in pairs:
            p.mul_(m)

    return plain_loop(data, model, mask_grads, mask_weights)


def run_plain_dense(data: DataBundle) -> float:
    return plain_loop(data, fresh_model(data), lambda: None, lambda: None)


def run_torch_prune(data: DataBundle) -> float:
    model = fresh_model(data)
    modules = dict(model.named_modules())
    for name, m in make_mask(model).items():
        prune.custom_from_mask(modules[name.rsplit(".", 1)[0]], "weight", m)
    return plain_loop(data, model, lambda: None, lambda: None)


CONTENDERS: dict[str, Callable[[DataBundle], float]] = {
    "ticketlab": run_ticketlab,
    "plain-masked": run_plain_masked,
    "plain-dense": run_plain_dense,
    "torch-prune": run_torch_prune,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="epochs per contender (default: 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_data(DataConfig(dataset="fashion-mnist"))
    names = list(CONTENDERS)
    run_plain_dense(data)  # warm-up: allocator, thread pool
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            times[name].append(CONTENDERS[name](data))
    median = {n: statistics.median(t) for n, t in times.items()}
    rows = [[n, f"{median[n]:.3f}", f"{median['ticketlab'] / median[n]:.3f}"] for n in names]
    print(format_table(["contender", "median s/epoch", "ticketlab / this"], rows))
    print(f"\ntarget ticketlab / plain-masked <= 1.05: measured {median['ticketlab'] / median['plain-masked']:.3f}")
    if args.json:
        print(json.dumps({"median_seconds": median, "all_seconds": times, "threads": args.threads}, indent=2))


if __name__ == "__main__":
    main()
