"""Training inside a run directory: checkpoints, resuming, metrics and the common result.

Every kind of run that trains (``train``, ``prune``, lottery levels) goes through
:func:`train_in_run`, so they all resume the same way and report the same fields.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.data import DataBundle, DataConfig, load_data
from ticketlab.masks import Mask
from ticketlab.runs.store import RunDirectory
from ticketlab.training import Callback, TrainConfig, Trainer

Log = Callable[[str], None]


def quiet(_: str) -> None:
    """A log that drops every line."""


@dataclass
class Session:
    """How a run is executed (none of it is part of the run's config or hash).

    With ``cache_data`` the session keeps every data set it loads, so a sweep of many
    runs over the same data reads and normalises it once per process.
    """

    device: str = "cpu"
    log: Log = quiet
    checkpoint_seconds: float | None = 600.0
    eval_batch_size: int = 1000
    data_dir: str | Path | None = None
    download: bool = False
    cache_data: bool = False
    tensorboard: str | Path | None = None  # a folder for TensorBoard event files, or None
    # Another process working on the same run: wait for it (True) or stop with RunInProgress.
    wait: bool = True
    # Bytes the normalised data may take in memory; a larger data set is memory-mapped
    # (same batches, bit for bit). None: no limit.
    max_memory: int | None = None
    _cache: dict[DataConfig, DataBundle] = field(default_factory=dict, repr=False)

    def load_data(self, config: DataConfig) -> DataBundle:
        """The data set of ``config`` on this session's device (cached if asked)."""
        if config in self._cache:
            return self._cache[config]
        data = load_data(
            config, data_dir=self.data_dir, download=self.download, device=self.device, max_memory=self.max_memory
        )
        if self.cache_data:
            self._cache[config] = data
        return data


def train_in_run(
    run: RunDirectory,
    model: nn.Module,
    data: DataBundle,
    config: TrainConfig,
    *,
    seed: int,
    mask: Mask | None,
    augment: str,
    crop_padding: int,
    session: Session,
    started: float,
    checkpoint: str = "checkpoint.pt",
    metrics: str = "metrics.jsonl",
    on_step: Callable[[int], None] | None = None,
    keep_best: bool = False,
    callbacks: tuple[Callback, ...] = (),
) -> tuple[Trainer, float]:
    """Train (resuming from ``checkpoint`` if present); return the trainer and wall seconds.

    ``model`` must hold the initial weights; the mask is applied to it. With
    ``keep_best``, the weights of the epoch with the best validation accuracy so far are
    kept in ``model_best.pt`` (the model that validation-based selection reports). ``started`` is
    when this session began work on the run (``time.monotonic()``); the checkpoint stores
    the elapsed wall time so that ``wall_seconds`` spans every session. ``callbacks``
    go to the :class:`Trainer` (their state is part of the checkpoint).
    """
    trainer = Trainer(
        model,
        data,
        config,
        seed=seed,
        mask=mask,
        augment=augment,
        crop_padding=crop_padding,
        eval_batch_size=session.eval_batch_size,
        callbacks=callbacks,
    )
    wall_before = 0.0
    state = run.load_checkpoint(checkpoint)
    if state is not None:
        trainer.load_state_dict(state["trainer"])
        wall_before = float(state["wall_seconds"])
        session.log(f"resuming {run.path.name} at epoch {trainer.epoch}, step {trainer.step}/{trainer.total_steps}")
    run.write_metrics(trainer.history, metrics)
    sink = None
    if session.tensorboard is not None:
        from ticketlab.runs.tensorboard import TensorBoardSink

        sink = TensorBoardSink(session.tensorboard, unit_name(run))

    def wall_seconds() -> float:
        return wall_before + time.monotonic() - started

    def on_epoch_end(row: dict[str, Any]) -> None:
        run.append_metrics(row, metrics)
        if sink is not None:
            sink.add(row)
        session.log(epoch_line(row, trainer.total_epochs))
        earlier = [h["val_accuracy"] for h in trainer.history[:-1] if h.get("val_accuracy") is not None]
        if keep_best and row.get("val_accuracy") is not None and row["val_accuracy"] > max(earlier, default=-1.0):
            # Before this epoch's checkpoint: a resumed run redoes the epoch and rewrites it.
            run.save_checkpoint({"model": model.state_dict(), "epoch": row["epoch"]}, "model_best.pt")

    def on_checkpoint() -> None:
        run.save_checkpoint({"trainer": trainer.state_dict(), "wall_seconds": wall_seconds()}, checkpoint)

    try:
        trainer.run(
            on_epoch_end=on_epoch_end,
            on_checkpoint=on_checkpoint,
            checkpoint_seconds=session.checkpoint_seconds,
            on_step=on_step,
        )
    finally:
        if sink is not None:
            sink.close()
    return trainer, wall_seconds()


def unit_name(run: RunDirectory) -> str:
    """``<run directory>/<unit>/...``: where a unit's TensorBoard events go."""
    top = run
    while top.parent is not None:
        top = top.parent
    return str(run.path.relative_to(top.path.parent))


def epoch_line(metrics: dict[str, Any], total_epochs: int) -> str:
    """One progress line for a finished epoch."""
    parts = [f"epoch {metrics['epoch']:>3}/{total_epochs}", f"step {metrics['step']}"]
    if metrics["train_loss"] is not None:
        parts.append(f"lr {metrics['lr']:.4g}")
        parts.append(f"train loss {metrics['train_loss']:.4f} acc {100 * metrics['train_accuracy']:.2f}%")
    if metrics.get("val_accuracy") is not None:
        parts.append(f"val acc {100 * metrics['val_accuracy']:.2f}%")
    if metrics.get("test_accuracy") is not None:
        parts.append(f"test acc {100 * metrics['test_accuracy']:.2f}%")
    parts.append(f"{metrics['seconds']:.1f}s")
    return "  ".join(parts)
