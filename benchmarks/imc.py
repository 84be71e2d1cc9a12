"""IMC's spectrum step on LeNet-300-100 (266,200 prunable weights): how long steps 2-5 take.

W* is 10 plain SGD iterations from the initialisation on Fashion-MNIST (synthetic data of
the same shape when its files are absent); the Hessian is that of the mean loss over 1,000
class-stratified training examples. Timed, in one process:

- gradient: one gradient of that loss (the baseline a Hessian-vector product is set against);
- hvp: one Hessian-vector product (double backward);
- lanczos: the --eigenpairs largest (and --smallest smallest) eigenpairs to tolerance 1e-3;
- hutchinson: the diagonal from 20 Rademacher probes;
- lipschitz: the Lip(F) search with the default 3 starts x 10 rounds.

Target: the spectrum step (Lanczos for 100 extreme eigenpairs) under 60 s on 2 cores.
Run: ``python benchmarks/imc.py [--threads 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from ticketlab.data import DataConfig, dataset_status
from ticketlab.imc.config import SpectrumConfig
from ticketlab.imc.hutchinson import hutchinson_diagonal
from ticketlab.imc.lanczos import extreme_eigenpairs
from ticketlab.imc.lipschitz import lipschitz_estimate
from ticketlab.imc.objective import flat_parameters, model_objective
from ticketlab.masks import prunable_parameters
from ticketlab.pruning import score_batches
from ticketlab.report import format_table
from ticketlab.runs import Session
from ticketlab.runs.imc_run import SpectrumRunConfig, warmup
from ticketlab.seeding import generator


def timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch (default: 2)")
    parser.add_argument("--eigenpairs", type=int, default=100, help="largest eigenpairs (default: 100)")
    parser.add_argument("--smallest", type=int, default=0, help="smallest eigenpairs as well (default: 0)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the gradient/HVP timings (default: 5)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    real = dataset_status("fashion-mnist") is not None
    data_config = DataConfig(dataset="fashion-mnist") if real else DataConfig(dataset="synthetic", synthetic_train=6000)
    config = SpectrumRunConfig(data=data_config, spectrum=SpectrumConfig(eigenpairs=args.eigenpairs,
                                                                         smallest=args.smallest))
    session = Session()
    data = session.load_data(config.data)
    model = config.build(data.info)
    warmup(model, data, config, session)
    names = list(prunable_parameters(model, config.prunable))
    batches = score_batches(data, config.spectrum.hessian_per_class, 500, 0)
    objective = model_objective(model, names, batches)
    point = flat_parameters(model, names)
    probe = torch.randn(point.numel(), generator=generator(0, "probe"))
    gradient = statistics.median(timed(lambda: objective.gradient(point))[0] for _ in range(args.repeats))
    hvp = statistics.median(timed(lambda: objective.hvp(point, probe))[0] for _ in range(args.repeats))
    spec = config.spectrum
    before = objective.hvp_count
    lanczos_s, spectrum = timed(lambda: extreme_eigenpairs(
        lambda v: objective.hvp(point, v), objective.size, top=spec.eigenpairs, bottom=spec.smallest,
        max_steps=spec.lanczos_steps, tol=spec.lanczos_tol, generator=generator(0, "lanczos")))
    lanczos_hvps = objective.hvp_count - before
    hutchinson_s, _ = timed(lambda: hutchinson_diagonal(lambda v: objective.hvp(point, v), objective.size,
                                                        samples=spec.hutchinson_samples,
                                                        generator=generator(0, "hutchinson")))
    lip_s, lip = timed(lambda: lipschitz_estimate(objective, point, epsilon=spec.epsilon, p=spec.norm_p,
                                                  restarts=spec.lip_restarts, iterations=spec.lip_iterations,
                                                  generator=generator(0, "lipschitz")))
    rows = [
        ["gradient", f"{gradient:.4f}", "1", "-"],
        ["hvp", f"{hvp:.4f}", f"{hvp / gradient:.2f}", "1"],
        [f"lanczos ({args.eigenpairs} largest + {args.smallest} smallest)", f"{lanczos_s:.2f}",
         f"{lanczos_s / gradient:.0f}", str(lanczos_hvps)],
        [f"hutchinson ({spec.hutchinson_samples} probes)", f"{hutchinson_s:.2f}", f"{hutchinson_s / gradient:.0f}",
         str(spec.hutchinson_samples)],
        ["lipschitz search", f"{lip_s:.2f}", f"{lip_s / gradient:.0f}", str(lip.hvps)],
    ]
    print(format_table(["step", "seconds", "x gradient", "HVPs"], rows))
    converged = spectrum.converged  # type: ignore[attr-defined]
    print(f"\nd = {objective.size:,} weights, {sum(int(y.shape[0]) for _, y in batches)} Hessian examples, "
          f"{'Fashion-MNIST' if real else 'synthetic data'}, {args.threads} threads; "
          f"Lanczos: {spectrum.steps} steps, converged: {converged}")  # type: ignore[attr-defined]
    print(f"target: spectrum step (Lanczos) < 60 s: measured {lanczos_s:.1f} s -> {'met' if lanczos_s < 60 else 'MISSED'}")
    if args.json:
        print(json.dumps({"gradient_seconds": gradient, "hvp_seconds": hvp, "lanczos_seconds": lanczos_s,
                          "lanczos_steps": spectrum.steps, "hutchinson_seconds": hutchinson_s,  # type: ignore[attr-defined]
                          "lipschitz_seconds": lip_s, "converged": converged}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
