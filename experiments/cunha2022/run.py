"""Seed 000 (da Cunha, Natale, Viennot, ICLR 2022) on Fashion-MNIST: LeNet5's conv layers
rebuilt from random networks by random subset sum, for n = 5 .. 30 candidates, over 5
independent random sources per n, with and without rescaling the target first.

    python experiments/cunha2022/run.py [--runs-dir runs] [--out experiments/cunha2022/results]

The target is trained as in seed 000 (50 epochs, Adam 1e-3, batch 64, Kaiming-uniform).
Every (n, draw, rescale) is an ordinary ``ticketlab strong`` run (construction cunha,
--layers conv, --seed draw), so the script resumes where it stopped. It writes
``summary.json`` (every run's result), a plot of the errors against n with every draw
visible, and ``README.md``'s tables come from that file (``readme.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from ticketlab.atomic import atomic_write_json
from ticketlab.data import DataConfig
from ticketlab.models import ModelConfig
from ticketlab.report.plots import pyplot, save_figure
from ticketlab.runs import Session, TrainRunConfig, run_train
from ticketlab.runs.strong_run import StrongConfig, StrongResult, run_strong
from ticketlab.training import TrainConfig

NS = (5, 10, 15, 20, 25, 30)
DRAWS = 5  # independent random sources per n (the run's --seed)
# The construction as it is now (the target rescaled first, the default) and as it was
# (the target built as trained, --rescale 0): the same random sources in both.
SETTINGS = {"rescaled": StrongConfig().rescale, "as trained": 0.0}
# How much the choice of --rescale matters, where the errors are small enough to compare.
SENSITIVITY = {"rescale 0.25": 0.25, "rescale 1": 1.0}
SENSITIVITY_NS = (20, 25, 30)
# The same audit for Pensia et al.'s MLP construction (the two-layer replacement of every
# layer of LeNet-300-100), one random source per n: its fc1 alone has 235,200 weights.
PENSIA_TARGET = TrainRunConfig(
    data=DataConfig(dataset="fashion-mnist"),
    model=ModelConfig(model="lenet300"),
    train=TrainConfig(duration="10ep", optimizer="adam", lr=0.001, batch_size=64, schedule="constant"),
)
PENSIA_NS = (10, 20)
TARGET = TrainRunConfig(
    data=DataConfig(dataset="fashion-mnist"),
    model=ModelConfig(model="lenet5", init="kaiming-uniform"),
    train=TrainConfig(duration="50ep", optimizer="adam", lr=0.001, batch_size=64, schedule="constant"),
)


def block_error(result: StrongResult, after: str) -> float:
    """The relative output error after the block of layer ``after`` (its activation and pool included)."""
    return next(row["max_rel_error"] for row in result.output_errors if row["after"] == after)


def record(result: StrongResult, setting: str, draw: int, last_block: str = "conv2") -> dict:
    """What summary.json keeps of one construction (the run directory by name only)."""
    out = result.to_json()
    out.update(setting=setting, draw=draw, run_dir=f"runs/{Path(result.run_dir).name}",
               target=f"runs/{Path(result.target).name}", conv_block_error=block_error(result, last_block),
               logit_error=result.output_errors[-1]["max_rel_error"])
    return out


def plot(records: list[dict], out: Path) -> None:
    """Max relative weight error against n: every draw a dot, the median over draws a line."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for (setting, color) in zip(SETTINGS, ("tab:blue", "tab:orange"), strict=True):
        rows = [r for r in records if r["setting"] == setting]
        ns = sorted({r["n"] for r in rows})
        for r in rows:
            ax.scatter(r["n"], r["max_rel_weight_error"], color=color, alpha=0.45, s=14)
        medians = [statistics.median(r["max_rel_weight_error"] for r in rows if r["n"] == n) for n in ns]
        ax.plot(ns, medians, color=color, marker="o", label=f"{setting}: median of {DRAWS} draws (dots: each draw)")
    ax.axhline(1e-3, color="grey", linestyle=":", label="seed 000: about 1e-3 at n = 30")
    ax.set_yscale("log")
    ax.set_xlabel("n (random candidates per target weight)")
    ax.set_ylabel("max relative weight error (conv tensors)")
    ax.set_title("LeNet5 conv layers on Fashion-MNIST, cunha construction")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    save_figure(fig, out / "errors.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="summary and plot")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where networks train and run (default: cpu)")
    args = parser.parse_args()
    session = Session(log=lambda line: print(line, file=sys.stderr), cache_data=True, device=args.device)
    target = run_train(TARGET, runs_dir=args.runs_dir, session=session)
    records = []
    points = [(setting, rescale, n) for setting, rescale in SETTINGS.items() for n in NS]
    points += [(setting, rescale, n) for setting, rescale in SENSITIVITY.items() for n in SENSITIVITY_NS]
    for setting, rescale, n in points:
        for draw in range(DRAWS):
            # The sensitivity runs report weight errors only: their accuracies and output
            # errors are measured on fewer images (float64 convolutions dominate a run).
            cheap = {"test_examples": 1000, "error_examples": 200} if setting in SENSITIVITY else {}
            config = StrongConfig(construction="cunha", n=n, layers="conv", rescale=rescale, **cheap)
            result = run_strong(target.run_dir, config, seed=draw, runs_dir=args.runs_dir, session=session)
            records.append(record(result, setting, draw))
            print(f"{setting:>12} n={n:2d} draw {draw}: max rel weight error "
                  f"{result.max_rel_weight_error:.2e}, ticket {100 * result.ticket_test_accuracy:.2f}%",
                  file=sys.stderr)
    pensia_target = run_train(PENSIA_TARGET, runs_dir=args.runs_dir, session=session)
    pensia = []
    for setting, rescale in SETTINGS.items():
        for n in PENSIA_NS:
            config = StrongConfig(construction="pensia", n=n, rescale=rescale, explain=True, test_examples=2000,
                                  error_examples=200)
            result = run_strong(pensia_target.run_dir, config, runs_dir=args.runs_dir, session=session)
            pensia.append(record(result, setting, 0, last_block="fc3"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target_record = target.to_json()
    target_record["run_dir"] = f"runs/{Path(target.run_dir).name}"
    atomic_write_json(out / "summary.json", {
        "target": target_record,
        "constructions": records,
        "draws": DRAWS,
        "settings": SETTINGS,
        "sensitivity": SENSITIVITY,
        "pensia_target": {**pensia_target.to_json(), "run_dir": f"runs/{Path(pensia_target.run_dir).name}"},
        "pensia": pensia,
        # The work's own seconds (each run's result.json), not this invocation's: a rerun
        # that finds every run finished takes seconds.
        "work_seconds": target.wall_seconds + pensia_target.wall_seconds
        + sum(r["wall_seconds"] for r in records + pensia),
        "device": args.device,
        "cpu_cores": os.cpu_count(),
    })
    plot(records, out)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
