"""Cost of ``effective_mask`` against one dense forward+backward pass, on VGG-19 and ResNet-18.

CIFAR shapes (3x32x32 inputs, 10 classes), batch 1, in one process on the same thread
count. For each model the contenders are:

- dense: one training step's forward and backward of the unmasked model at batch 1
  (cross-entropy on one random image, gradients into ``.grad``);
- effective@d: ``effective_mask`` for a uniform random mask of density ``d``.

Each repetition runs every contender once, in rotating order; the table reports the
median milliseconds and the ratio to dense. Target: effective / dense <= 3.
Run: ``python benchmarks/effective.py``.
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

from ticketlab.masks import count_kept, effective_mask, full_mask, uniform_random_mask
from ticketlab.models import build_model
from ticketlab.report import format_table

INPUT_SHAPE = (3, 32, 32)
NUM_CLASSES = 10
TARGET = 3.0


def dense_step(model: nn.Module) -> Callable[[], None]:
    x = torch.randn(1, *INPUT_SHAPE, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0])

    def run() -> None:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    return run


def effective_call(model: nn.Module, density: float) -> tuple[Callable[[], None], float]:
    mask = uniform_random_mask(full_mask(model), 1.0 - density, torch.Generator().manual_seed(0))
    active, total = count_kept(effective_mask(model, mask, INPUT_SHAPE))
    return (lambda: effective_mask(model, mask, INPUT_SHAPE)), active / total


def seconds(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, densities: list[float], repeats: int) -> tuple[list[list[object]], dict[str, object]]:
    model = build_model(name, INPUT_SHAPE, NUM_CLASSES, seed=0)
    contenders: dict[str, Callable[[], None]] = {"dense": dense_step(model)}
    effective_density: dict[str, float] = {}
    for d in densities:
        label = f"effective@{d:g}"
        contenders[label], effective_density[label] = effective_call(model, d)
    for fn in contenders.values():  # warm-up: allocator, thread pool
        fn()
    times: dict[str, list[float]] = {n: [] for n in contenders}
    names = list(contenders)
    for r in range(repeats):
        for label in names[r % len(names):] + names[: r % len(names)]:
            times[label].append(seconds(contenders[label]))
    median = {n: statistics.median(t) for n, t in times.items()}
    rows: list[list[object]] = []
    for label in names:
        ratio = median[label] / median["dense"]
        rows.append([
            name,
            label,
            "-" if label == "dense" else f"{effective_density[label]:.3g}",
            f"{1000 * median[label]:.1f}",
            f"{ratio:.2f}",
            "-" if label == "dense" else ("yes" if ratio <= TARGET else "NO"),
        ])
    return rows, {"median_seconds": median, "all_seconds": times, "effective_density": effective_density}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per contender (default: 15)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument(
        "--densities", type=float, nargs="+", default=[0.1, 0.01, 1e-6],
        help="densities of the random masks (default: 0.1 0.01 1e-6)",
    )  # fmt: skip
    parser.add_argument("--models", nargs="+", default=["vgg19", "resnet18"], help="registry models (default: vgg19 resnet18)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows: list[list[object]] = []
    figures: dict[str, object] = {"threads": args.threads, "repeats": args.repeats}
    for name in args.models:
        model_rows, figures[name] = bench(name, args.densities, args.repeats)
        rows += model_rows
    headers = ["model", "contender", "effective density", "median ms", "x dense", f"<= {TARGET:g}x"]
    print(format_table(headers, rows))
    worst = max(float(r[4]) for r in rows if r[1] != "dense")
    print(f"\ntarget effective_mask / dense forward+backward <= {TARGET:g}: worst measured {worst:.2f}")
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
