"""Random subset sum at seed 000's scale: every conv parameter of LeNet5, n = 30.

Seed 000 solved one MIP per parameter with Gurobi: about one hour on 32 cores for the
2,572 parameters (weights and biases) of LeNet5's two conv layers at n = 30. Here the
same instances -- each target a conv parameter of LeNet5 (trained for one epoch on
Fashion-MNIST when its files are present, else freshly initialised), each candidate the
product of a combine weight U[-1, 1] and an expansion weight U(0, 1), as in the cunha
construction -- are solved exactly by meet in the middle, and a sample of them by the
HiGHS MIP backend (extrapolated to all instances).

Targets: exact <= 2 s on 2 cores; MIP / exact >= 1000x, with an error no better than exact's.
Run: ``python benchmarks/subset_sum.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ticketlab.data import DataConfig, dataset_status
from ticketlab.models import build_model
from ticketlab.report import format_table
from ticketlab.strong.subset_sum import solve_subset_sum


def lenet5_conv_parameters(train: bool) -> torch.Tensor:
    """The 2,572 conv parameters of LeNet5 (1x28x28, 10 classes), as one float64 vector."""
    model = build_model("lenet5", (1, 28, 28), 10, init="kaiming-uniform", seed=0)
    if train:
        from ticketlab.data import load_data
        from ticketlab.training import TrainConfig, Trainer

        data = load_data(DataConfig(dataset="fashion-mnist"))
        Trainer(model, data, TrainConfig(duration="1ep", optimizer="adam", batch_size=64), seed=0).run()
    values = [model.conv1.weight, model.conv1.bias, model.conv2.weight, model.conv2.bias]
    return torch.cat([v.detach().double().flatten() for v in values])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30, help="candidates per target (default: 30)")
    parser.add_argument("--repeats", type=int, default=3, help="timed exact solves (default: 3)")
    parser.add_argument("--mip-sample", type=int, default=20, help="instances solved by the MIP (default: 20)")
    parser.add_argument("--threads", type=int, default=2, help="threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trained = dataset_status("fashion-mnist") is not None
    targets = lenet5_conv_parameters(trained)
    g = torch.Generator().manual_seed(0)
    candidates = (torch.rand(targets.numel(), args.n, generator=g, dtype=torch.float64) * 2 - 1) * torch.rand(
        targets.numel(), args.n, generator=g, dtype=torch.float64)
    times = []
    for _ in range(args.repeats):
        exact = solve_subset_sum(targets, candidates, solver="exact")
        times.append(exact.seconds)
    exact_seconds = statistics.median(times)
    scale = float(targets.abs().max())
    sample = torch.randperm(targets.numel(), generator=g)[: args.mip_sample]
    started = time.perf_counter()
    mip = solve_subset_sum(targets[sample], candidates[sample], solver="mip")
    mip_seconds = (time.perf_counter() - started) / args.mip_sample * targets.numel()
    worse = float((exact.errors[sample] - mip.errors).max())
    rows = [
        ["exact (meet in the middle)", targets.numel(), f"{exact_seconds:.3f}", f"{float(exact.errors.max()) / scale:.3g}",
         f"{float(exact.errors.median()) / scale:.3g}"],
        [f"mip (HiGHS, {args.mip_sample} sampled, extrapolated)", targets.numel(), f"{mip_seconds:.1f}",
         f"{float(mip.errors.max()) / scale:.3g}", f"{float(mip.errors.median()) / scale:.3g}"],
    ]
    print(f"LeNet5 conv parameters: {targets.numel()} ({'trained 1 epoch' if trained else 'initialised'}), n = {args.n}")
    print(format_table(["solver", "instances", "seconds", "max rel error", "median rel error"], rows))
    print(f"\ntarget exact <= 2 s: measured {exact_seconds:.3f} s (median of {args.repeats}, {args.threads} threads)")
    print(f"target mip / exact >= 1000: measured {mip_seconds / exact_seconds:.0f}x; "
          f"exact error minus mip error on the sample: at most {worse:.2e} (<= 0: exact no worse)")


if __name__ == "__main__":
    main()
