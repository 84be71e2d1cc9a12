"""Inference speed of IMP tickets as exported by ticketlab, against the dense network, on the CPU.

Tickets: IMP (global magnitude, rewound to the initialisation) on Fashion-MNIST, each
lottery pruning the same fraction per level so that its last level lands on the target:
LeNet-300-100 at 90%, 98% and 99.5% (3, 5 and 7 levels, 3 epochs each), LeNet-5 at 95%
(4 levels, 2 epochs) and ResNet-20 at 90% (3 levels, 2 epochs, 1,000 examples per class).
They are made under --runs-dir on the first call and reused after (speed does not depend on
how long they trained, but which units die does, so they are real tickets).

Forms, all computing the ticket's function (checked before timing):
- dense: the original architecture holding the ticket's weights, zeros included;
- masked: the same under ``torch.nn.utils.prune.custom_from_mask`` (what that API's users
  run: the weight recomputed as weight_orig * mask in every forward);
- compact: ``ticketlab export --format compact`` (dead units and channels cut out);
- sparse: ``--format sparse`` (the compact network, each layer sparse where its timed forward
  beats dense at its density: the policy ``auto``);
- onnxruntime: the compact network exported to ONNX and run by onnxruntime (when installed).

Latency: median milliseconds of one forward at batch 1 (after warm-up, 300 calls per form
per round); throughput: examples per second at batch 256 (median of 30 calls per round);
3 rounds in rotating order, the median over all calls. Everything in one process, no grad,
eval mode, float32, ``--threads`` torch (and onnxruntime) threads.

Targets (LeNet-300-100 at 98%, its best form against dense): throughput at batch 256
>= 3x, latency at batch 1 <= 0.5x. ``--out`` writes the JSON (benchmarks/results/
inference.json is the committed one, from which the README's table is generated:
``python benchmarks/inference.py --readme README.md`` rewrites it, ``--check`` compares).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from ticketlab.data import DataConfig
from ticketlab.export import compact_model
from ticketlab.export.run_export import export_onnx
from ticketlab.export.sparse import sparsify
from ticketlab.masks import load_mask
from ticketlab.models import ModelConfig
from ticketlab.report.readme_blocks import render_readme
from ticketlab.runs import Session
from ticketlab.runs.lottery_run import LotteryRunConfig, run_lottery
from ticketlab.runs.units import load_unit_model, unit_config
from ticketlab.text import format_table
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

# label -> (model, width, examples per class, epochs per level, levels, target sparsity)
TICKETS: dict[str, tuple[str, float, int | None, int, int, float]] = {
    "LeNet-300-100 90%": ("lenet300", 1.0, None, 3, 3, 0.90),
    "LeNet-300-100 98%": ("lenet300", 1.0, None, 3, 5, 0.98),
    "LeNet-300-100 99.5%": ("lenet300", 1.0, None, 3, 7, 0.995),
    "LeNet-5 95%": ("lenet5", 1.0, None, 2, 4, 0.95),
    "ResNet-20 90%": ("resnet20", 1.0, 1000, 2, 3, 0.90),
}
TARGET = "LeNet-300-100 98%"
FORMS = ("dense", "masked", "compact", "sparse", "onnxruntime")
Forward = Callable[[torch.Tensor], Any]


def ticket(label: str, runs_dir: Path, session: Session) -> tuple[nn.Module, dict[str, torch.Tensor], torch.Tensor]:
    """The ticket's masked network, its mask and test inputs (the lottery is run if missing)."""
    model, width, per_class, epochs, levels, sparsity = TICKETS[label]
    fraction = 1 - (1 - sparsity) ** (1 / levels)
    config = LotteryRunConfig(data=DataConfig(dataset="fashion-mnist", per_class=per_class),
                              model=ModelConfig(model=model, width=width), train=TrainConfig(duration=f"{epochs}ep"),
                              lottery=LotteryConfig(levels=levels, prune_fraction=fraction), seed=0)
    result = run_lottery(config, runs_dir=runs_dir, session=session)
    unit = Path(result.levels[-1].run_dir)
    _, record, data_config, model_config = unit_config(unit)
    data = session.load_data(data_config)
    network, _ = load_unit_model(unit, model_config, data, record.get("hash"))
    return network.eval(), load_mask(unit / "mask.npz"), data.test.x[:256].float()


def forms(network: nn.Module, mask: dict[str, torch.Tensor], x: torch.Tensor, threads: int,
          shape: tuple[int, ...]) -> tuple[dict[str, Forward], dict[str, Any]]:
    """Each form's forward, and what the exports report (kept units, sparse choices)."""
    masked = _torch_prune(network, mask)
    compact = compact_model(network, mask, shape)
    sparse = sparsify(compact.module, x, policy="auto")
    out: dict[str, Forward] = {"dense": network, "masked": masked, "compact": compact.module, "sparse": sparse.module}
    onnx = _onnxruntime(compact.module, x, threads)
    if onnx is not None:
        out["onnxruntime"] = onnx
    info = {"parameters": sum(int((p != 0).sum()) for p in network.parameters()),
            "dense_parameters": sum(p.numel() for p in network.parameters()),
            "compact_parameters": sum(p.numel() for p in compact.module.parameters()),
            "layers": [c.as_dict() for c in compact.layers],
            "sparse_layers": [{"name": c.name, "form": c.form, "density": c.density} for c in sparse.layers]}
    return out, info


def _torch_prune(network: nn.Module, mask: dict[str, torch.Tensor]) -> nn.Module:
    import copy

    masked = copy.deepcopy(network)
    modules = dict(masked.named_modules())
    for name, keep in mask.items():
        path, _, param = name.rpartition(".")
        prune.custom_from_mask(modules[path], param, keep.to(torch.float32))
    return masked.eval()


def _onnxruntime(module: nn.Module, x: torch.Tensor, threads: int) -> Forward | None:
    """The compact network as ``ticketlab export --format onnx`` writes it, run by onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    path = Path(tempfile.mkdtemp(prefix="ticketlab-onnx-")) / "compact.onnx"
    with torch.no_grad():
        export_onnx(module, x, module(x), path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch.numpy()})[0]


def _time(forward: Forward, x: torch.Tensor, calls: int) -> list[float]:
    seconds = []
    with torch.no_grad():
        for _ in range(calls):
            start = time.perf_counter()
            forward(x)
            seconds.append(time.perf_counter() - start)
    return seconds


def measure(contenders: dict[str, Forward], x: torch.Tensor, rounds: int, calls: tuple[int, int]) -> dict[str, Any]:
    """Median latency at batch 1 (ms) and throughput at batch 256 (examples/s) per form."""
    one, many = x[:1].contiguous(), x[:256].contiguous()
    latency: dict[str, list[float]] = {name: [] for name in contenders}
    batch: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for name in names:  # warm-up
        _time(contenders[name], one, 20)
        _time(contenders[name], many, 3)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            latency[name] += _time(contenders[name], one, calls[0])
            batch[name] += _time(contenders[name], many, calls[1])
    return {name: {"latency_ms": 1e3 * statistics.median(latency[name]),
                   "throughput": many.shape[0] / statistics.median(batch[name])} for name in names}


def check_outputs(contenders: dict[str, Forward], x: torch.Tensor) -> dict[str, float]:
    """Largest output difference of each form from the dense network, relative to its largest output."""
    with torch.no_grad():
        reference = contenders["dense"](x)
        scale = float(reference.abs().max())
        out = {}
        for name, forward in contenders.items():
            got = torch.as_tensor(forward(x))
            out[name] = float((got - reference).abs().max()) / scale
            if out[name] > 1e-5:
                raise SystemExit(f"{name} differs from the dense ticket by {out[name]:.3g} of its largest output")
    return out


def table(results: dict[str, Any]) -> str:
    """Markdown: per ticket and form, latency and throughput and their ratios to dense."""
    rows = []
    for label, found in results["tickets"].items():
        dense = found["speed"]["dense"]
        for form in FORMS:
            if form not in found["speed"]:
                continue
            s = found["speed"][form]
            rows.append([label, form, f"{s['latency_ms']:.3f}", f"{s['latency_ms'] / dense['latency_ms']:.2f}x",
                         f"{s['throughput']:,.0f}", f"{s['throughput'] / dense['throughput']:.2f}x"])
    return format_table(["ticket", "form", "batch 1 latency (ms)", "vs dense", "batch 256 throughput (ex/s)",
                         "vs dense"], rows, markdown=True)


def verdict(results: dict[str, Any]) -> str:
    """The targets, met or not, from the results."""
    speed = results["tickets"][TARGET]["speed"]
    dense = speed["dense"]
    best_throughput = max((f for f in speed if f != "dense"), key=lambda f: speed[f]["throughput"])
    best_latency = min((f for f in speed if f != "dense"), key=lambda f: speed[f]["latency_ms"])
    up = speed[best_throughput]["throughput"] / dense["throughput"]
    down = speed[best_latency]["latency_ms"] / dense["latency_ms"]
    return (f"{TARGET}: best throughput at batch 256 {up:.2f}x dense ({best_throughput}; target >= 3x: "
            f"{'met' if up >= 3 else 'missed'}), best latency at batch 1 {down:.2f}x dense ({best_latency}; "
            f"target <= 0.5x: {'met' if down <= 0.5 else 'missed'}). Measured on {results['machine']}, "
            f"{results['threads']} thread(s), torch {results['torch']}.")


def readme_blocks(results: dict[str, Any]) -> dict[str, str]:
    return {"inference": f"{table(results)}\n\n{verdict(results)}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the IMP tickets are made or found (default: runs)")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads (default: 2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every form in rotating order (default: 3)")
    parser.add_argument("--tickets", default=",".join(TICKETS), help="comma list of tickets (default: all)")
    parser.add_argument("--machine", default="a 2-core x86-64 VM", help="how the table describes the machine")
    parser.add_argument("--out", help="write the results as JSON here (default: print only)")
    parser.add_argument("--readme", help="rewrite this README's inference block from --results and stop")
    parser.add_argument("--results", default=str(Path(__file__).parent / "results" / "inference.json"),
                        help="the results --readme reads (default: benchmarks/results/inference.json)")
    parser.add_argument("--check", action="store_true", help="with --readme: only say whether it is stale")
    args = parser.parse_args()
    if args.readme:
        text = Path(args.readme).read_text(encoding="utf-8")
        fresh = render_readme(text, readme_blocks(json.loads(Path(args.results).read_text(encoding="utf-8"))))
        if fresh != text and not args.check:
            Path(args.readme).write_text(fresh, encoding="utf-8")
        print("stale" if fresh != text else "up to date")
        return 1 if fresh != text and args.check else 0
    torch.set_num_threads(args.threads)
    session = Session(cache_data=True, log=lambda line: None)
    results: dict[str, Any] = {"threads": args.threads, "torch": torch.__version__, "machine": args.machine,
                               "tickets": {}}
    for label in [t for t in args.tickets.split(",") if t]:
        if label not in TICKETS:
            parser.error(f"--tickets: unknown {label!r} (choose from {', '.join(TICKETS)})")
        network, mask, x = ticket(label, Path(args.runs_dir), session)
        contenders, info = forms(network, mask, x, args.threads, tuple(x.shape[1:]))
        differences = check_outputs(contenders, x)
        speed = measure(contenders, x, args.rounds, (300, 30))
        kept = sum(int(m.sum()) for m in mask.values())
        total = sum(m.numel() for m in mask.values())
        results["tickets"][label] = {"sparsity": 1 - kept / total, **info, "max_rel_diff": differences,
                                     "speed": speed}
        print(f"{label}: " + ", ".join(f"{k} {v['latency_ms']:.3f} ms / {v['throughput']:,.0f} ex/s"
                                      for k, v in speed.items()), file=sys.stderr, flush=True)
    print(table(results))
    if TARGET in results["tickets"]:
        print("\n" + verdict(results))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
