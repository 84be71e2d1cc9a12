"""``ticketlab imc`` as functions: the shared spectrum unit (steps 1-5) and the IMC run (step 6).

``RUNS_DIR/imc-spectrum-<hash>/``: config.json, model_warmup.pt (W*), scores.pt (per block
the fastness and Hutchinson diagonal of every weight), spectrum.png and result.json
(per block the extreme eigenvalues, residuals, Lip(F), the gap or its absence).

``RUNS_DIR/imc-<hash>/``: config.json, imc.json (counts per block and where they came
from), mask.npz, metrics.jsonl, model_init.pt (the masked starting weights),
model_final.pt and result.json. A restarted run reuses the spectrum unit and the mask,
then resumes training from its checkpoint.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.data import DataBundle
from ticketlab.errors import CheckpointError
from ticketlab.imc.analysis import analyse, cpu_copy
from ticketlab.imc.select import imc_mask
from ticketlab.masks import effective_report, load_mask, prunable_parameters, save_mask
from ticketlab.models import build_from_config
from ticketlab.pruning import score_batches
from ticketlab.report.spectrum_plot import plot_spectrum
from ticketlab.runs.execute import Session, train_and_save, training_result
from ticketlab.runs.imc_config import IMCRunConfig, SpectrumRunConfig
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.train_run import check_names
from ticketlab.seeding import derive_seed, generator
from ticketlab.training import TrainConfig, Trainer


def build_model(config: SpectrumRunConfig | IMCRunConfig, data: DataBundle) -> nn.Module:
    """The model at its seeded initialisation (the same for the spectrum unit and the run)."""
    info = data.info
    return build_from_config(config.model, info.image_shape, info.num_classes, seed=derive_seed(config.seed, "init"))


def warmup(model: nn.Module, data: DataBundle, config: SpectrumRunConfig, session: Session) -> dict[str, Any]:
    """Step 1: plain SGD for ``warmup_steps`` iterations, in place; the last metrics row."""
    spec = config.spectrum
    if spec.warmup_steps == 0:
        return {}
    train = TrainConfig(duration=f"{spec.warmup_steps}it", batch_size=config.batch_size, optimizer="sgd",
                        lr=spec.warmup_lr, momentum=0.0, schedule="constant")
    trainer = Trainer(model, data, train, seed=derive_seed(config.seed, "warmup"), augment=config.data.augment,
                      crop_padding=config.data.crop_padding, eval_batch_size=session.eval_batch_size)
    history = trainer.run()
    return history[-1]


def run_spectrum(
    config: SpectrumRunConfig,
    *,
    runs_dir: str | Path = "runs",
    session: Session | None = None,
    data: DataBundle | None = None,
) -> dict[str, Any]:
    """Steps 1-5 (or skip them when done): W*, the spectrum, Lip(F) and the gap per block.

    ``data``: the data set of ``config.data`` when the caller has it loaded already.
    """
    started = time.monotonic()
    session = session or Session()
    check_names(config)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return run.read_result()
    if data is None:
        data = session.load_data(config.data)
    model = build_model(config, data).to(session.device)
    names = list(prunable_parameters(model, config.prunable))
    batches = score_batches(data, config.spectrum.hessian_per_class, 500, derive_seed(config.seed, "hessian"))
    run.prepare()
    found = run.load_checkpoint("model_warmup.pt")
    if found is None:
        row = warmup(model, data, config, session)
        run.save_checkpoint({"model": model.state_dict(), "metrics": row}, "model_warmup.pt")
    else:
        model.load_state_dict(found["model"])
        row = found["metrics"]
    if row:
        session.log(f"W* after {config.spectrum.warmup_steps} SGD iterations: train loss {row['train_loss']:.4f}, "
                    f"test acc {100 * row['test_accuracy']:.2f}%")
    blocks = analyse(model, names, batches, config.spectrum, seed=config.seed, log=session.log)
    run.save_checkpoint({b.name: {"fastness": cpu_copy(b.fastness), "diagonal": cpu_copy(b.diagonal)}
                         for b in blocks}, "scores.pt")
    summaries = [b.summary() for b in blocks]
    plot_spectrum(summaries, run.file("spectrum.png"))
    result = {
        "run_dir": str(run.path),
        "kind": run.kind,
        "hash": run.hash,
        "scope": config.spectrum.scope,
        "hessian_examples": sum(int(y.shape[0]) for _, y in batches),
        "warmup": row,
        "blocks": summaries,
        "wall_seconds": time.monotonic() - started,
    }
    run.write_result(result)
    return result


def run_imc(config: IMCRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None) -> dict[str, Any]:
    """IMC end to end (or resume, or skip): spectrum unit, mask from the gap, training."""
    started = time.monotonic()
    session = session or Session()
    check_names(config)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return session.skip(run)
    data = session.load_data(config.data)  # once, for the spectrum unit and the training
    spectrum = run_spectrum(config.spectrum_run(), runs_dir=runs_dir, session=session, data=data)
    spectrum_dir = RunDirectory(runs_dir, config.spectrum_run())
    model = build_model(config, data)
    shape = data.info.image_shape
    run.prepare()
    if run.file("mask.npz").exists():
        mask = load_mask(run.file("mask.npz"))
        counts = run.read_json_file("imc.json")
    else:
        tensors = spectrum_dir.load_checkpoint("scores.pt")
        if tensors is None:
            raise CheckpointError(f"{spectrum_dir.file('scores.pt')} is missing; delete {spectrum_dir.path} to redo it")
        shapes = {name: p.shape for name, p in prunable_parameters(model, config.prunable).items()}
        mask, counts = imc_mask(spectrum["blocks"], tensors, shapes, config.select, generator(config.seed, "imc-mask"))
        run.write_json_file("imc.json", counts)
        save_mask(run.file("mask.npz"), mask)  # written last: its presence means "pruned"
    if config.select.start == "warmup":
        warm = spectrum_dir.load_checkpoint("model_warmup.pt")
        if warm is None:
            raise CheckpointError(f"{spectrum_dir.file('model_warmup.pt')} is missing; delete {spectrum_dir.path}")
        model.load_state_dict(warm["model"])
    model = model.to(session.device)
    d = sum(int(c["d"]) for c in counts)
    kept = sum(int(c["kept"]) for c in counts)
    sources = sorted({c["source"] for c in counts})
    session.log(f"IMC keeps {kept} of {d} prunable weights (sparsity {1 - kept / d:.6f}; from {', '.join(sources)})")
    report = effective_report(model, mask, shape)
    trainer, wall = train_and_save(run, model, data, config, mask=mask, session=session, started=started)
    result = training_result(run, trainer, mask, model, session, wall)
    held = [b["condition_held"] for b in spectrum["blocks"]]
    effective = report.as_dict()
    result.update(
        {
            "spectrum_dir": spectrum["run_dir"],
            "scope": config.spectrum.scope,
            "keep": config.select.keep,
            "map": config.select.map,
            "budget": config.select.budget,
            "d": d,
            "k": d - kept,
            "d_minus_k": kept,
            "sparsity_source": sources[0] if len(sources) == 1 else "mixed",
            "condition_held": all(held),
            "blocks_with_gap": sum(held),
            "gap": [b["gap"] for b in spectrum["blocks"]] if len(held) > 1 else spectrum["blocks"][0]["gap"],
            "lipschitz": [b["lipschitz"]["value"] for b in spectrum["blocks"]] if len(held) > 1
            else spectrum["blocks"][0]["lipschitz"]["value"],
            "spectrum": [_spectrum_summary(b) for b in spectrum["blocks"]],
            "counts": counts,
            "warmup_test_accuracy": (spectrum["warmup"] or {}).get("test_accuracy"),
            "effective_sparsity": effective["effective_sparsity"],
            "disconnected": effective["disconnected"],
            "layers": effective["layers"],
        }
    )
    run.write_result(result)
    run.file("checkpoint.pt").unlink(missing_ok=True)
    return result


def _spectrum_summary(block: dict[str, Any]) -> dict[str, Any]:
    spec = block["spectrum"]
    top, bottom = spec["top_eigenvalues"], spec["bottom_eigenvalues"]
    return {
        "block": block["block"],
        "d": block["d"],
        "largest": (top or bottom)[-1],
        "smallest": bottom[0],
        "top_eigenvalues": top,
        "bottom_eigenvalues": bottom,
        "lanczos_steps": spec["lanczos_steps"],
        "converged": spec["converged"],
        "trace_estimate": block["trace_estimate"],
        "lipschitz": block["lipschitz"]["value"],
        "gap": block["gap"],
    }
