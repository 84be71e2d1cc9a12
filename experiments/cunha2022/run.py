"""Seed 000 (da Cunha, Natale, Viennot, ICLR 2022) on Fashion-MNIST: LeNet5's conv layers
rebuilt from a random network by random subset sum, for n = 5 .. 30 candidates.

    python experiments/cunha2022/run.py [--runs-dir runs] [--out experiments/cunha2022/results]

The target is trained as in seed 000 (50 epochs, Adam 1e-3, batch 64, Kaiming-uniform).
Every n is an ordinary ``ticketlab strong`` run (construction cunha, --layers conv), so
the script resumes where it stopped. It writes a table and a plot of the errors against n,
and the accuracy of the network with the pruned random conv block in place of the target's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ticketlab.atomic import atomic_write_json, atomic_write_text
from ticketlab.data import DataConfig
from ticketlab.models import ModelConfig
from ticketlab.report.plots import pyplot, save_figure
from ticketlab.report.table import format_table, percent
from ticketlab.runs import Session, TrainRunConfig, run_train
from ticketlab.runs.strong_run import StrongConfig, StrongResult, run_strong
from ticketlab.training import TrainConfig

NS = (5, 10, 15, 20, 25, 30)
TARGET = TrainRunConfig(
    data=DataConfig(dataset="fashion-mnist"),
    model=ModelConfig(model="lenet5", init="kaiming-uniform"),
    train=TrainConfig(duration="50ep", optimizer="adam", lr=0.001, batch_size=64, schedule="constant"),
)


def conv_block_error(result: StrongResult) -> float:
    """The relative output error after the conv block (conv2 with its ReLU and pool)."""
    return next(row["max_rel_error"] for row in result.output_errors if row["after"] == "conv2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="tables and plot")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where networks train and run (default: cpu)")
    args = parser.parse_args()
    session = Session(log=lambda line: print(line, file=sys.stderr), cache_data=True, device=args.device)
    started = time.monotonic()
    target = run_train(TARGET, runs_dir=args.runs_dir, session=session)
    results = []
    for n in NS:
        results.append(run_strong(target.run_dir, StrongConfig(construction="cunha", n=n, layers="conv"),
                                  runs_dir=args.runs_dir, session=session))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in results:
        weights = {w["tensor"]: w["max_rel_error"] for w in r.weight_errors}
        rows.append([r.n, f"{max(weights.values()):.2e}", f"{conv_block_error(r):.2e}",
                     f"{r.max_rel_output_error:.2e}", percent(r.target_test_accuracy),
                     percent(r.ticket_test_accuracy), f"{r.ticket_nonzeros:,}", f"{r.source_parameters:,}",
                     f"{r.solve_seconds:.1f}"])
    headers = ["n", "max rel weight error", "conv block output error", "logit error", "target acc", "ticket acc",
               "ticket nonzeros", "random conv params", "solve s"]
    table = format_table(headers, rows, markdown=True)
    atomic_write_text(out / "summary.md", table + "\n")
    atomic_write_json(out / "summary.json", {"target": target.to_json(),
                                             "constructions": [r.to_json() for r in results],
                                             "wall_seconds": time.monotonic() - started})
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot([r.n for r in results], [max(w["max_rel_error"] for w in r.weight_errors) for r in results],
            marker="o", label="max rel weight error (conv tensors)")
    ax.plot([r.n for r in results], [conv_block_error(r) for r in results], marker="s",
            label="max rel output error (conv block)")
    ax.axhline(1e-3, color="grey", linestyle=":", label="seed 000: about 1e-3 at n = 30")
    ax.set_yscale("log")
    ax.set_xlabel("n (random candidates per target weight)")
    ax.set_ylabel("relative error")
    ax.set_title("LeNet5 conv layers on Fashion-MNIST, cunha construction")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    save_figure(fig, out / "errors.png")
    print(table)
    print(f"\nresults in {out} (wall {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
