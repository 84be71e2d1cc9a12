"""``ticketlab strong`` as a function: build a strong ticket for a trained target and
measure it, in a run directory named by the target and the construction."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from ticketlab.masks import save_mask
from ticketlab.runs.execute import Session
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.strong_config import StrongConfig, StrongRunConfig
from ticketlab.runs.units import load_unit_model, unit_config
from ticketlab.strong.construct import construct
from ticketlab.strong.metrics import accuracy, output_errors, weight_errors
from ticketlab.strong.target import affine_layers


def strong_config_for(target: str | Path, strong: StrongConfig, seed: int = 0) -> StrongRunConfig:
    """The run config of ``strong`` applied to the trained run (or part of one) at ``target``."""
    unit = Path(target).absolute()
    config_path, record, _, _ = unit_config(unit)
    relative = unit.relative_to(config_path.parent)
    return StrongRunConfig(str(record.get("hash", "")), relative.as_posix() if str(relative) != "." else "",
                           strong, seed)


def run_strong(target: str | Path, strong: StrongConfig, *, seed: int = 0, runs_dir: str | Path = "runs",
               session: Session | None = None) -> dict[str, Any]:
    """Construct, measure and save the strong ticket of the trained target at ``target``."""
    started = time.monotonic()
    session = session or Session()
    config = strong_config_for(target, strong, seed)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return session.skip(run)
    unit = Path(target).absolute()
    _, record, data_config, model_config = unit_config(unit)
    data = session.load_data(data_config)
    model, _ = load_unit_model(unit, model_config, data, record.get("hash"))
    model = model.double().eval()
    shape = data.info.image_shape
    session.log(f"constructing {strong.construction} with n={strong.n} for {unit}")
    built = construct(model, shape, construction=strong.construction, n=strong.n, solver=strong.solver,
                      eps=strong.eps, layers=strong.layers, seed=seed, linear_scale=strong.linear_scale)
    count = strong.test_examples or int(data.test.y.shape[0])
    test_x, test_y = data.test.x[:count].cpu(), data.test.y[:count].cpu()
    error_x = test_x[: strong.error_examples]
    batches = [error_x[i:i + 250] for i in range(0, error_x.shape[0], 250)]
    outputs = output_errors(built, batches)
    weights = weight_errors(built)
    ticket = built.ticket()
    approximated = [layer for layer in affine_layers(built.target_ops)]
    target_parameters = sum(layer.weight.numel() + (0 if layer.bias is None else layer.bias.numel())
                            for layer in approximated if _is_approximated(layer.name, built))
    run.prepare()
    save_mask(run.file("mask.npz"), built.mask)
    run.save_checkpoint({"model": built.source.state_dict()}, "source.pt")
    result = {
        "run_dir": str(run.path),
        "kind": run.kind,
        "hash": run.hash,
        "target": str(unit),
        "construction": strong.construction,
        "n": strong.n,
        "solver": strong.solver,
        "max_rel_weight_error": max((w["max_rel_error"] for w in weights), default=0.0),
        "weight_errors": weights,
        "max_rel_output_error": max((o["max_rel_error"] for o in outputs), default=0.0),
        "output_errors": outputs,
        "target_test_accuracy": accuracy(model, test_x, test_y, device=session.device),
        "ticket_test_accuracy": accuracy(ticket, test_x, test_y, device=session.device),
        "ticket_nonzeros": built.ticket_nonzeros,
        "source_parameters": built.random_parameters,
        "target_parameters": target_parameters,
        "target_nonzeros": sum(int((layer.weight != 0).sum()) + (0 if layer.bias is None else int((layer.bias != 0).sum()))
                               for layer in approximated if _is_approximated(layer.name, built)),
        "test_examples": int(test_y.shape[0]),
        "error_examples": int(error_x.shape[0]),
        "solve_seconds": built.solve_seconds,
        "wall_seconds": time.monotonic() - started,
        "torch_threads": torch.get_num_threads(),
    }
    run.write_result(result)
    return result


def _is_approximated(name: str, built: Any) -> bool:
    names = set()
    for record in built.approximations:
        names.add(record["layer"] if isinstance(record, dict) else record.name)
    return name in names
