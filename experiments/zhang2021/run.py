"""Seed 002 (Zhang et al., "Validating the Lottery Ticket Hypothesis with Inertial Manifold
Theory", NeurIPS 2021) at CPU scale: IMC against IMP and pruning at initialisation.

    python experiments/zhang2021/run.py --jobs 2        # lenet300 and lenet5, 3 seeds
    python experiments/zhang2021/run.py --models lenet300 --seeds 0
    python experiments/zhang2021/run.py --scale full --device cuda   # VGG-16, ResNet-18 on CIFAR-10

For each model and seed on Fashion-MNIST: one IMC spectrum (W* after 10 SGD iterations,
100 largest and 10 smallest Hessian eigenpairs, Lip(F) on the 0.01 ball, the gap rule),
then IMC keeping either side of the gap at the sparsity the rule picks ("picked") and at
fixed sparsities; IMP (global magnitude, 50% per level, rewind to init) and SNIP, SynFlow
and random with IGQ quotas at the same fixed sparsities, and at each sparsity IMC picked
where a gap held (IMP then one-shot). Every run is an ordinary run directory under
--runs-dir, so the script resumes. Tables, plots and spectra go to --out.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ticketlab.atomic import atomic_write_json, atomic_write_text
from ticketlab.cli.driver_args import comma_ints, comma_names
from ticketlab.data import DataConfig
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.models import ModelConfig
from ticketlab.pruning import PruneConfig
from ticketlab.report.plots import plot_metric_by_panel
from ticketlab.report.table import format_table
from ticketlab.runs import Session
from ticketlab.runs.imc_run import IMCResult, IMCRunConfig, run_imc
from ticketlab.runs.lottery_run import LevelRow, LotteryRunConfig, run_lottery
from ticketlab.runs.prune_run import PruneResult, PruneRunConfig, run_prune
from ticketlab.runs.store import read_json
from ticketlab.stats import pm, summarise
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

# Per model: data set, training per run (SGD 0.1, momentum 0.9, cosine, batch 128) and the
# spectrum's scope. CPU scale: shortened for 2 CPU cores. Full scale (the paper's CIFAR-10
# nets, for GPUs): 160 epochs, and one spectrum per layer (a global Lanczos basis over 11M
# weights would need 26 GB).
MODELS = {"lenet300": ("fashion-mnist", "5ep", "global"), "lenet5": ("fashion-mnist", "3ep", "global"),
          "vgg16": ("cifar10", "160ep", "layerwise"), "resnet18": ("cifar10", "160ep", "layerwise")}
SCALES = {"cpu": ("lenet300", "lenet5"), "full": ("vgg16", "resnet18")}
# IMP at 50% per level lands exactly on these after 3, 5 and 7 levels.
FIXED = (0.875, 0.96875, 0.9921875)
IMP_LEVELS = 7
PAI = ("snip", "synflow", "random")


def data_config(model: str) -> DataConfig:
    return DataConfig(dataset=MODELS[model][0])


def train_config(model: str) -> TrainConfig:
    return TrainConfig(duration=MODELS[model][1])


def imc_config(model: str, seed: int, **select: Any) -> IMCRunConfig:
    return IMCRunConfig(data=data_config(model), model=ModelConfig(model=model), train=train_config(model),
                        spectrum=SpectrumConfig(scope=MODELS[model][2]), select=SelectConfig(**select), seed=seed)


def row(model: str, seed: int, method: str, result: IMCResult | PruneResult | LevelRow, target: float,
        setting: str) -> dict[str, Any]:
    """One table row; ``target`` is the sparsity asked for (the realised one differs by rounding)."""
    return {"model": model, "seed": seed, "method": method, "setting": setting, "sparsity": target,
            "remaining": 100 * (1 - target), "realised_sparsity": result.sparsity,
            "effective_remaining": 100 * (1 - result.effective_sparsity),
            "test_accuracy": result.test_accuracy, "run_dir": result.run_dir}


def run_point(model: str, seed: int, runs_dir: str, threads: int, device: str) -> dict[str, Any]:
    """Every run of one model and seed; returns the rows, the IMC spectrum record and the
    wall seconds of the work (each run's own, recorded in its result.json, spectra included)."""
    import torch

    torch.set_num_threads(threads)
    session = Session(device=device, cache_data=True, log=lambda line: None)
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    picked: dict[str, float] = {}
    spectrum: dict[str, Any] = {}
    work: dict[str, float] = {}  # run directory -> its own wall seconds
    for keep in ("slow", "fast"):
        result = run_imc(imc_config(model, seed, keep=keep), runs_dir=runs_dir, session=session)
        work[result.run_dir] = result.wall_seconds
        work[result.spectrum_dir] = float(read_json(Path(result.spectrum_dir) / "result.json")["wall_seconds"])
        spectrum = {k: getattr(result, k) for k in ("spectrum_dir", "condition_held", "gap", "lipschitz", "d", "spectrum")}
        setting = "picked" if result.condition_held else "no gap: fallback"
        rows.append(row(model, seed, f"IMC-{keep}", result, result.sparsity, setting))
        if result.condition_held:
            picked[keep] = result.sparsity
        for sparsity in FIXED:
            fixed = run_imc(imc_config(model, seed, keep=keep, budget="fixed", sparsity=sparsity), runs_dir=runs_dir,
                            session=session)
            rows.append(row(model, seed, f"IMC-{keep}", fixed, sparsity, "fixed"))
            work[fixed.run_dir] = fixed.wall_seconds
    lottery = run_lottery(LotteryRunConfig(data=data_config(model), model=ModelConfig(model=model), train=train_config(model),
                                           lottery=LotteryConfig(levels=IMP_LEVELS, prune_fraction=0.5), seed=seed),
                          runs_dir=runs_dir, session=session)
    work[lottery.run_dir] = lottery.wall_seconds
    for level in lottery.levels[1:]:
        # Global IMP keeps round(0.5^L d) weights: within one weight of the fixed sparsity.
        near = [s for s in FIXED if abs(level.sparsity - s) <= 1.0 / level.total]
        if near:
            rows.append(row(model, seed, "IMP", level, near[0], "fixed"))
    dense = lottery.levels[0]
    rows.append(row(model, seed, "dense", dense, 0.0, "dense"))
    targets = [(s, "fixed") for s in FIXED] + [(s, f"picked by IMC-{k}") for k, s in picked.items() if 0 < s < 1]
    for sparsity, setting in targets:
        for method in PAI:
            pruned = run_prune(PruneRunConfig(data=data_config(model), model=ModelConfig(model=model), train=train_config(model),
                                              pruning=PruneConfig(method=method, quota="igq", sparsity=sparsity),
                                              seed=seed), runs_dir=runs_dir, session=session)
            rows.append(row(model, seed, f"{method}/igq", pruned, sparsity, setting))
            work[pruned.run_dir] = pruned.wall_seconds
        if setting != "fixed":
            one_shot = run_lottery(LotteryRunConfig(data=data_config(model), model=ModelConfig(model=model), train=train_config(model),
                                                    lottery=LotteryConfig(levels=1, prune_fraction=sparsity), seed=seed),
                                   runs_dir=runs_dir, session=session)
            work[one_shot.run_dir] = one_shot.wall_seconds
            level = one_shot.levels[1]
            rows.append(row(model, seed, "IMP (one-shot)", level, sparsity, setting))
    return {"rows": rows, "spectrum": spectrum, "seconds": time.monotonic() - started, "work": sum(work.values())}


def mean_pm(values: list[float]) -> str:
    """Mean ± sample std (%), the 95% t interval for 5 seeds or fewer, the values where they disagree."""
    return pm(summarise(values))


def accuracy_table(rows: list[dict[str, Any]]) -> str:
    """Mean ± std test accuracy over seeds, one line per model, setting, method and sparsity."""
    cells: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        cells.setdefault((r["model"], r["setting"], f"{r['remaining']:.4g}", r["method"]), []).append(r)
    order = {"dense": 0, "fixed": 1}
    lines = sorted(cells, key=lambda k: (k[0], order.get(k[1], 2), k[1], -float(k[2]), k[3]))
    body = []
    for key in lines:
        found = cells[key]
        effective = summarise([r["effective_remaining"] for r in found]).mean
        body.append([*key, len(found), f"{effective:.4g}", mean_pm([r["test_accuracy"] for r in found])])
    return format_table(["model", "setting", "% weights remaining", "method", "seeds", "% effective (mean)",
                         "test accuracy (%)"], body, markdown=True)


def spectrum_table(spectra: dict[str, dict[str, Any]]) -> str:
    body = []
    for key, s in sorted(spectra.items()):
        # one row per block: the whole net (--spectrum global) or each layer (layerwise, the full scale)
        for block in s["spectrum"]:
            top = block["top_eigenvalues"]
            widest = max((b - a for a, b in zip(top, top[1:])), default=float("nan"))
            gap = block["gap"]
            name = key if len(s["spectrum"]) == 1 else f"{key} {block['block']}"
            body.append([name, f"{block['d']:,}", f"{block['smallest']:.3g}", f"{block['largest']:.3g}",
                         f"{block['lanczos_steps']}", f"{block['lipschitz']:.3g}", f"{widest:.3g}",
                         f"N = {gap['index']:,} ({gap['lower']:.3g} -> {gap['upper']:.3g})" if gap else "none"])
    return format_table(["model/seed", "d", "smallest eigenvalue", "largest", "Lanczos steps", "Lip(F)",
                         "widest step among the top 100", "gap found"], body, markdown=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the runs live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="tables and plots")
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu",
                        help="cpu (lenet300, lenet5 on Fashion-MNIST) or full (vgg16, resnet18 on CIFAR-10)")
    parser.add_argument("--models", default=None, help=f"comma list of {', '.join(MODELS)} (default: the scale's)")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds (default: 0,1,2)")
    parser.add_argument("--jobs", type=int, default=1, help="(model, seed) points run in parallel (default: 1)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads per job (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    models = comma_names(parser, "--models", (args.models or ",".join(SCALES[args.scale])), MODELS)
    seeds = list(comma_ints(parser, "--seeds", args.seeds))
    started = time.monotonic()
    points = [(m, s) for m in models for s in seeds]
    rows: list[dict[str, Any]] = []
    spectra: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    work: dict[str, float] = {}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = {pool.submit(run_point, m, s, args.runs_dir, args.threads, args.device): (m, s) for m, s in points}
        for future in concurrent.futures.as_completed(futures):
            m, s = futures[future]
            done = future.result()
            rows += done["rows"]
            spectra[f"{m}/{s}"] = done["spectrum"]
            seconds[f"{m}/{s}"] = done["seconds"]
            work[f"{m}/{s}"] = done["work"]
            print(f"{m} seed {s}: {done['seconds']:.0f}s", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fixed = [r for r in rows if r["setting"] in ("fixed", "dense")]
    plot_metric_by_panel(fixed, out / "accuracy.png", x_key="remaining", panel_key="model", line_key="method",
                         group_key="sparsity", x_label="% of weights remaining", reverse_x=True,
                         title="Fashion-MNIST: IMC against IMP and pruning at init (IGQ)")
    for key, s in spectra.items():
        if key.endswith("/0"):
            shutil.copyfile(Path(s["spectrum_dir"]) / "spectrum.png", out / f"spectrum-{key.split('/')[0]}.png")
    table, spectrum_md = accuracy_table(rows), spectrum_table(spectra)
    atomic_write_text(out / "summary.md", table + "\n")
    atomic_write_text(out / "spectra.md", spectrum_md + "\n")
    atomic_write_json(out / "summary.json", {"rows": rows, "spectra": spectra, "seconds": seconds,
                                             # the runs' own wall seconds per point: the work, even when cached
                                             "work_seconds": work,
                                             "wall_seconds": time.monotonic() - started, "jobs": args.jobs,
                                             "threads": args.threads})
    print(spectrum_md, "\n\n", table, sep="")
    print(f"\nresults in {out} (wall {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
