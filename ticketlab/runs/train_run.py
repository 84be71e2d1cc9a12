"""``ticketlab train`` as a function: train one model, optionally masked, in a run directory.

The run resumes from its last checkpoint when started again with the same config, and a
finished run (``result.json`` present) is returned without training again.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import ticketlab
from ticketlab.data import DATASETS, load_data
from ticketlab.masks import count_kept, full_mask, layer_report, save_mask, uniform_random_mask
from ticketlab.models import INITS, MODELS, build_from_config, count_parameters
from ticketlab.runs.config import TrainRunConfig
from ticketlab.runs.store import RunDirectory
from ticketlab.seeding import derive_seed, generator
from ticketlab.training import Trainer

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def check_names(config: TrainRunConfig) -> None:
    """Fail early, before any file is written, on unknown model, init or data set names."""
    MODELS.entry(config.model.model)
    INITS.entry(config.model.init)
    DATASETS.entry(config.data.dataset)


def run_train(
    config: TrainRunConfig,
    *,
    runs_dir: str | Path = "runs",
    data_dir: str | Path | None = None,
    download: bool = False,
    device: str = "cpu",
    log: Log = _quiet,
    checkpoint_seconds: float | None = 600.0,
    eval_batch_size: int = 1000,
) -> dict[str, Any]:
    """Train (or resume, or skip) the run described by ``config``; return its result dict."""
    session_start = time.monotonic()
    check_names(config)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        log(f"already complete: {run.path}")
        return run.read_result()
    data = load_data(config.data, data_dir=data_dir, download=download, device=device)
    run.prepare()
    model = build_from_config(
        config.model, data.info.image_shape, data.info.num_classes, seed=derive_seed(config.seed, "init")
    ).to(device)
    template = full_mask(model, config.prunable)
    mask = None
    if config.sparsity is not None:
        mask = uniform_random_mask(template, config.sparsity, generator(config.seed, "mask"))
        save_mask(run.file("mask.npz"), mask)
    if not run.file("model_init.pt").exists():
        run.save_checkpoint({"model": model.state_dict()}, "model_init.pt")
    trainer = Trainer(
        model,
        data,
        config.train,
        seed=config.seed,
        mask=mask,
        augment=config.data.augment,
        crop_padding=config.data.crop_padding,
        eval_batch_size=eval_batch_size,
    )
    wall_before = 0.0
    state = run.load_checkpoint()
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        wall_before = float(state["wall_seconds"])
        log(f"resuming {run.path.name} at epoch {trainer.epoch}, step {trainer.step}/{trainer.total_steps}")
    run.write_metrics(trainer.history)

    def wall_seconds() -> float:
        return wall_before + time.monotonic() - session_start

    def on_epoch_end(metrics: dict[str, Any]) -> None:
        run.append_metrics(metrics)
        log(epoch_line(metrics, trainer.total_epochs))

    def on_checkpoint() -> None:
        run.save_checkpoint({"trainer": trainer.state_dict(), "wall_seconds": wall_seconds()})

    trainer.run(on_epoch_end=on_epoch_end, on_checkpoint=on_checkpoint, checkpoint_seconds=checkpoint_seconds)
    run.save_checkpoint({"model": model.state_dict()}, "model_final.pt")
    final = trainer.history[-1]
    kept, total = count_kept(mask or template)
    result: dict[str, Any] = {
        "run_dir": str(run.path),
        "kind": run.kind,
        "hash": run.hash,
        "test_accuracy": final["test_accuracy"],
        "test_loss": final["test_loss"],
        "val_accuracy": final["val_accuracy"],
        "val_loss": final["val_loss"],
        "train_accuracy": final["train_accuracy"],
        "train_loss": final["train_loss"],
        "epochs": len(trainer.history),
        "steps": trainer.step,
        "sparsity": 1.0 - kept / total,
        "kept": kept,
        "total": total,
        "parameters": count_parameters(model),
        "layers": [row.as_dict() for row in layer_report(mask or template)],
        "wall_seconds": wall_seconds(),
        "device": str(device),
        "versions": {
            "ticketlab": ticketlab.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    run.write_result(result)
    run.file("checkpoint.pt").unlink(missing_ok=True)
    return result


def epoch_line(metrics: dict[str, Any], total_epochs: int) -> str:
    """One progress line for a finished epoch."""
    parts = [f"epoch {metrics['epoch']:>3}/{total_epochs}", f"step {metrics['step']}"]
    if metrics["train_loss"] is not None:
        parts.append(f"lr {metrics['lr']:.4g}")
        parts.append(f"train loss {metrics['train_loss']:.4f} acc {100 * metrics['train_accuracy']:.2f}%")
    if metrics.get("val_accuracy") is not None:
        parts.append(f"val acc {100 * metrics['val_accuracy']:.2f}%")
    parts.append(f"test acc {100 * metrics['test_accuracy']:.2f}%")
    parts.append(f"{metrics['seconds']:.1f}s")
    return "  ".join(parts)
