"""``export`` of a run's ticket: compact, sparse or ONNX, verified against the ticket itself.

The ticket is a unit's trained weights under its mask (:mod:`ticketlab.runs.units`): a
train, prune, imc, edge-popup or sparse-train run, a lottery level, or a branch of either.
Every export is checked on real test inputs: the exported network's outputs must equal the
masked network's within 1e-5 of their largest magnitude, or nothing is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ticketlab.atomic import atomic_write_bytes, atomic_write_json
from ticketlab.data import DataBundle
from ticketlab.errors import CheckpointError, ConfigError, TicketlabError
from ticketlab.export.archive import export_payload, payload_bytes
from ticketlab.export.compact import compact_model
from ticketlab.export.modules import module_from_tree
from ticketlab.masks import apply_mask, load_mask
from ticketlab.runs.execute import Session
from ticketlab.runs.store import load_torch_file, read_json
from ticketlab.runs.units import load_unit_model, model_file, unit_config

FORMATS = ("compact", "sparse", "onnx")
FILE_NAMES = {"compact": "export-compact.pt", "sparse": "export-sparse.pt", "onnx": "ticket.onnx"}
TOLERANCE = 1e-5  # the largest output difference allowed, relative to the largest output


def resolve_unit(run_dir: str | Path, level: int | None = None, branch: str | None = None) -> Path:
    """The directory holding the ticket: the run, ``level-<L>`` of a lottery (default: its last), a branch of either."""
    run = Path(run_dir)
    if not (run / "config.json").is_file():
        raise ConfigError(f"{run} is not a run directory (no config.json)")
    record = read_json(run / "config.json")
    kind = record.get("kind") if isinstance(record, dict) else None
    unit = run
    if kind == "lottery":
        levels = sorted(int(m.group(1)) for p in run.iterdir() if (m := re.fullmatch(r"level-(\d+)", p.name))
                        and (p / "result.json").is_file())
        if not levels:
            raise ConfigError(f"{run}: no level of this lottery has finished")
        chosen = levels[-1] if level is None else level
        if chosen not in levels:
            raise ConfigError(f"{run}: level {chosen} does not exist or has not finished (finished: "
                              f"{', '.join(map(str, levels))})")
        unit = run / f"level-{chosen}"
    elif level is not None:
        raise ConfigError(f"--level applies to lottery runs; {run} is a {kind} run")
    if kind == "strong":
        if branch:
            raise ConfigError(f"--branch: {run} is a strong run, which has no branches")
        if not (run / "source.json").is_file() or not (run / "source.pt").is_file():
            raise ConfigError(f"{run} is a strong run without source.json (made before exports existed, or its "
                              "construction uses a module a spec cannot describe): build it again to export it")
        return run
    if branch:
        unit = unit / f"branch-{branch}"
        if not (unit / "result.json").is_file():
            raise ConfigError(f"{unit} does not exist or has not finished")
    if not (unit / "mask.npz").is_file():
        raise ConfigError(f"{unit} has no mask.npz: a dense run has no ticket to export")
    if not model_file(unit).is_file():
        raise ConfigError(f"{unit} has no trained weights ({model_file(unit).name}): the run has not finished")
    return unit


def export_run(run_dir: str | Path, form: str = "compact", *, out: str | Path | None = None, level: int | None = None,
               branch: str | None = None, examples: int = 256, policy: str | float = "auto",
               session: Session | None = None) -> dict[str, Any]:
    """Export a run's ticket as ``form`` and verify it; the record ``--json`` prints (also written beside it)."""
    if form not in FORMATS:
        raise ConfigError(f"unknown export format '{form}' (choose from {', '.join(FORMATS)})")
    if examples < 1:
        raise ConfigError(f"--examples must be at least 1, got {examples}")
    from ticketlab.export.sparse import nonzero_parameters, sparse_layer_specs, sparsify

    unit = resolve_unit(run_dir, level, branch)
    model, data, architecture = load_ticket(unit, session or Session())
    mask = load_mask(unit / "mask.npz")
    shape, classes = tuple(data.info.image_shape), data.info.num_classes
    x = data.test.x[:examples].detach().cpu().float()
    with torch.no_grad():
        reference = model(x)
    compacted = compact_model(model, mask, shape)
    module, choices = compacted.module, []
    if form == "sparse":
        made = sparsify(compacted.module, x, policy=policy)
        module, choices = made.module, made.layers
    diff, relative = _difference(module, x, reference)
    if relative > TOLERANCE:
        raise TicketlabError(f"export check failed: the {form} network differs from the ticket by {diff:.3g} "
                             f"({relative:.3g} of the largest output; allowed {TOLERANCE:g})")
    # Every form's file, serialized once: the one asked for is written, all of them are sized (the sparse
    # size of another format's export is that of every layer in CSR).
    sparse_form = module if form == "sparse" else sparsify(compacted.module, x[:1], policy="all").module
    files = {"dense": payload_bytes(model.state_dict()),
             "compact": payload_bytes(export_payload("compact", architecture, shape, classes, compacted.module,
                                                     compacted.specs)),
             "sparse": payload_bytes(export_payload("sparse", architecture, shape, classes, sparse_form,
                                                    compacted.specs, sparse_layer_specs(sparse_form)))}
    path = Path(out) if out else unit / FILE_NAMES[form]
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx: dict[str, Any] = {}
    if form == "onnx":
        onnx = export_onnx(compacted.module, x, reference, path)
        written = path.stat().st_size
    else:
        atomic_write_bytes(path, files[form])
        written = len(files[form])
    sizes = {name: len(data) for name, data in files.items()}
    forms = {c.name: dataclasses.asdict(c) for c in choices}
    result = {
        "path": str(path), "format": form, "unit": str(unit), "parameters": nonzero_parameters(module),
        "stored_entries": sum(t.numel() for t in module.state_dict().values() if t.is_floating_point()),
        "dense_parameters": sum(p.numel() for p in model.parameters()), "bytes": written, "sizes": sizes,
        "max_abs_diff": diff, "max_rel_diff": relative, "examples": int(x.shape[0]),
        "layers": [{**cut.as_dict(), **({"sparse": forms[cut.name]} if cut.name in forms else {})}
                   for cut in compacted.layers],
        **onnx,
    }
    atomic_write_json(path.with_name(path.name + ".json"), result)
    return result


def load_ticket(unit: Path, session: Session) -> tuple[nn.Module, DataBundle, dict[str, Any]]:
    """A unit's trained network under its mask (float32, eval), its data, and its architecture for the
    export file: ``{"config": ModelConfig fields}``, or ``{"tree": spec}`` for a strong ticket's source."""
    record = read_json(unit / "config.json") if (unit / "config.json").is_file() else {}
    if isinstance(record, dict) and record.get("kind") == "strong":
        target = read_json(unit / "result.json").get("target", "")
        _, _, data_config, _ = unit_config(Path(target))
        tree = read_json(unit / "source.json")
        model = module_from_tree(tree)
        payload = load_torch_file(unit / "source.pt")
        state = payload.get("state", {}).get("model") if isinstance(payload, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"{unit / 'source.pt'} holds no source weights")
        model.load_state_dict(state)
        apply_mask(model, load_mask(unit / "mask.npz"))
        return model.float().eval(), session.load_data(data_config), {"tree": tree}
    _, record, data_config, model_config = unit_config(unit)
    data = session.load_data(data_config)
    model, _ = load_unit_model(unit, model_config, data, record.get("hash"))
    return model.cpu().float().eval(), data, {"config": dataclasses.asdict(model_config)}


def export_onnx(module: nn.Module, x: torch.Tensor, reference: torch.Tensor, path: Path) -> dict[str, Any]:
    """Write ``module`` as ONNX (dynamic batch) at ``path`` once onnxruntime (when installed) reproduces
    ``reference`` on ``x``; on any failure nothing is left at ``path``."""
    try:
        import onnx  # noqa: F401 - torch.onnx.export needs it
    except ImportError:
        raise ConfigError("--format onnx needs onnx: pip install 'ticketlab[onnx]'") from None
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        staged = Path(folder) / path.name
        try:
            with contextlib.redirect_stdout(sys.stderr):  # the exporter prints progress; --json owns stdout
                torch.onnx.export(module, (x,), str(staged), dynamo=True, input_names=["input"],
                                  output_names=["output"], dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                                  external_data=False, verbose=False)
        except Exception as exc:  # noqa: BLE001 - the exporter raises many types; one line for the user
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TicketlabError(f"torch.onnx.export cannot export this network ({reason})") from None
        checked = _run_onnx(staged, x, reference)
        os.replace(staged, path)
    return checked


def _run_onnx(path: Path, x: torch.Tensor, reference: torch.Tensor) -> dict[str, Any]:
    try:
        import onnxruntime
    except ImportError:
        return {"onnxruntime": "not installed: the ONNX file was not run"}
    run = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(run.run(None, {run.get_inputs()[0].name: x.numpy()})[0])
    diff = float((got - reference).abs().max())
    relative = diff / max(float(reference.abs().max()), 1e-30)
    if relative > TOLERANCE:
        raise TicketlabError(f"export check failed: onnxruntime's outputs differ from the ticket's by {diff:.3g}")
    return {"onnxruntime": onnxruntime.__version__, "onnx_max_abs_diff": diff}


def _difference(module: nn.Module, x: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        got = module(x)
    diff = float((got - reference).abs().max())
    return diff, diff / max(float(reference.abs().max()), 1e-30)
