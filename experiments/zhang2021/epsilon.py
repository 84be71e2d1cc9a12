"""Seed 002 (Zhang et al., NeurIPS 2021), issue 16: the gap rule's tolerance swept, and a wider model.

    python experiments/zhang2021/epsilon.py                     # what ran here (1 core)
    python experiments/zhang2021/epsilon.py --device cuda --seeds 0,1,2

The spectrum does not depend on epsilon, only Lip(F) does: per model and seed the spectrum
unit of run.py (W* after 10 SGD iterations, 100 largest and 10 smallest Hessian eigenpairs;
the same run directory ``ticketlab imc`` uses at epsilon 0.01) is computed once, then Lip(F)
is estimated again on the epsilon-ball around the same W*, with the same Hessian batches,
the same search (3 starts, 10 rounds) and the same random stream, for every epsilon, and
the gap rule (the smallest resolved N with lambda_{N+1} - lambda_N > 2 Lip(F)) is applied to
the stored eigenvalues. ``lenet300x2`` is LeNet-300-100 at twice the width (600-200 units,
592,400 weights), the wider model. No network is trained: the rule's sizes are the result.
Writes ``epsilon.json`` to --out, keeping the points of earlier invocations.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ticketlab.atomic import atomic_write_json
from ticketlab.cli.driver_args import comma_ints, comma_names
from ticketlab.data import DataConfig
from ticketlab.imc.config import SpectrumConfig
from ticketlab.imc.gap import find_gap
from ticketlab.imc.lipschitz import lipschitz_estimate
from ticketlab.imc.objective import flat_parameters, model_objective
from ticketlab.masks import prunable_parameters
from ticketlab.models import ModelConfig
from ticketlab.pruning import score_batches
from ticketlab.runs import Session
from ticketlab.runs.imc_run import SpectrumRunConfig, run_spectrum
from ticketlab.runs.store import RunDirectory, read_json
from ticketlab.seeding import derive_seed, generator

DATA = DataConfig(dataset="fashion-mnist")
# name -> (registered model, width)
MODELS = {"lenet300": ("lenet300", 1.0), "lenet5": ("lenet5", 1.0), "lenet300x2": ("lenet300", 2.0)}
EPSILONS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def known_pairs(block: dict[str, Any]) -> list[tuple[int, float, float]]:
    """The resolved consecutive eigenvalue pairs of a stored block (Spectrum.known_pairs, from JSON)."""
    s = block["spectrum"]
    bound = s["residual_bound"]

    def prefix(flags: list[bool]) -> int:
        return next((i for i, ok in enumerate(flags) if not ok), len(flags))

    ok_bottom = prefix([r <= bound for r in s["bottom_residuals"]])
    ok_top = prefix([r <= bound for r in reversed(s["top_residuals"])])
    bottom = s["bottom_eigenvalues"][:ok_bottom]
    top = s["top_eigenvalues"][len(s["top_eigenvalues"]) - ok_top:]
    pairs = [(i + 1, bottom[i], bottom[i + 1]) for i in range(len(bottom) - 1)]
    first_top = s["size"] - len(top) + 1
    return pairs + [(first_top + i, top[i], top[i + 1]) for i in range(len(top) - 1)]


def sweep(name: str, seed: int, runs_dir: str, session: Session) -> dict[str, Any]:
    model_name, width = MODELS[name]
    config = SpectrumRunConfig(data=DATA, model=ModelConfig(model=model_name, width=width), spectrum=SpectrumConfig(),
                               batch_size=128, seed=seed)
    spectrum = run_spectrum(config, runs_dir=runs_dir, session=session)
    block = spectrum.blocks[0]
    data = session.load_data(config.data)
    model = config.build(data.info)
    model.load_state_dict(RunDirectory(Path(spectrum.run_dir).parent, config).load_checkpoint("model_warmup.pt")["model"])
    names = list(prunable_parameters(model, config.prunable))
    batches = score_batches(data, config.spectrum.hessian_per_class, 500, derive_seed(seed, "hessian"))
    objective = model_objective(model, names, batches)
    point = flat_parameters(model, names)
    pairs = known_pairs(block)
    d = block["d"]
    rows = []
    for epsilon in EPSILONS:
        started = time.monotonic()
        lip = lipschitz_estimate(objective, point, epsilon=epsilon, p=2.0, restarts=config.spectrum.lip_restarts,
                                 iterations=config.spectrum.lip_iterations,
                                 generator=generator(seed, "lipschitz", block["block"]))
        gap = find_gap(pairs, lip.value)
        rows.append({"epsilon": epsilon, "lipschitz": lip.value, "threshold": 2 * lip.value,
                     "gap": None if gap is None else gap.as_dict(), "N": None if gap is None else gap.index,
                     # the share of weights each side would keep: slow keeps N, fast keeps d - N
                     "slow_keeps": None if gap is None else gap.index / d,
                     "fast_keeps": None if gap is None else (d - gap.index) / d,
                     "hvps": lip.hvps, "seconds": time.monotonic() - started})
        print(f"{name}/{seed} epsilon {epsilon:g}: Lip(F) {lip.value:.4g}, "
              + (f"N = {gap.index:,} of {d:,}" if gap else "no gap"), file=sys.stderr)
    steps = [b - a for _, a, b in pairs]
    return {"model": model_name, "width": width, "seed": seed, "d": d,
            "spectrum_dir": f"runs/{Path(spectrum.run_dir).name}", "spectrum_seconds": spectrum.wall_seconds,
            "lipschitz_at_0.01_in_spectrum_run": block["lipschitz"]["value"],
            "resolved_pairs": len(pairs), "widest_resolved_step": max(steps) if steps else None,
            "smallest": block["spectrum"]["bottom_eigenvalues"][0], "largest": block["spectrum"]["top_eigenvalues"][-1],
            "top_eigenvalues": block["spectrum"]["top_eigenvalues"],
            "bottom_eigenvalues": block["spectrum"]["bottom_eigenvalues"],
            "warmup_test_accuracy": spectrum.warmup.get("test_accuracy"), "epsilons": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs-dir", default="runs", help="where the spectrum units live (default: runs)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"), help="where epsilon.json goes")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma list of {', '.join(MODELS)}")
    parser.add_argument("--seeds", default="0,1", help="comma list of seeds (default: 0,1)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads (default: 1)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = comma_names(parser, "--models", args.models, MODELS)
    seeds = list(comma_ints(parser, "--seeds", args.seeds))
    session = Session(device=args.device, cache_data=True, log=lambda line: None)
    out = Path(args.out)
    found = out / "epsilon.json"
    # points of earlier invocations (other models or seeds) are kept; a point run again is replaced
    points = read_json(found)["points"] if found.is_file() else {}
    out.mkdir(parents=True, exist_ok=True)
    for name in models:
        for seed in seeds:
            points[f"{name}/{seed}"] = sweep(name, seed, args.runs_dir, session)
            # written after every point, so that an interrupted invocation keeps what it finished
            work = sum(p["spectrum_seconds"] + sum(r["seconds"] for r in p["epsilons"]) for p in points.values())
            atomic_write_json(found, {"epsilons": list(EPSILONS), "points": points,
                                      # the spectrum units' own seconds plus each Lip(F) search's
                                      "work_seconds": work, "threads": args.threads, "device": args.device})
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
