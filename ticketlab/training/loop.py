"""The training loop: masked SGD/Adam over in-memory batches, resumable at any step.

Everything random is a pure function of (seed, epoch, batch): the batch order and the
augmentation come from :func:`ticketlab.data.train_batches`, and the learning rate from
:func:`learning_rate`. So a trainer restored from :meth:`Trainer.state_dict` continues
exactly as an uninterrupted one would, even from the middle of an epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.data import DataBundle, num_batches, train_batches
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.training.callbacks import Callback
from ticketlab.training.config import TrainConfig
from ticketlab.training.evaluate import evaluate
from ticketlab.training.masked import MaskEnforcer
from ticketlab.training.optim import build_optimizer
from ticketlab.training.schedule import lr_schedule

EpochHook = Callable[[dict[str, Any]], None]
Hook = Callable[[], None]
StepHook = Callable[[int], None]


class Trainer:
    """Trains ``model`` on ``data`` under an optional fixed ``mask``.

    ``history`` holds one metrics dict per finished epoch (the last one may be partial
    when the length is given in iterations). ``callbacks`` hook into every step and epoch
    (:class:`~ticketlab.training.callbacks.Callback`); their state is checkpointed too.
    """

    def __init__(
        self,
        model: nn.Module,
        data: DataBundle,
        config: TrainConfig,
        *,
        seed: int,
        mask: Mask | None = None,
        augment: str = "none",
        crop_padding: int = 4,
        eval_batch_size: int = 1000,
        callbacks: tuple[Callback, ...] = (),
    ) -> None:
        self.model = model
        self.data = data
        self.config = config
        self.seed = seed
        self.augment = augment
        self.crop_padding = crop_padding
        self.eval_batch_size = eval_batch_size
        self.enforcer = MaskEnforcer(model, mask) if mask else None
        self.optimizer = build_optimizer(model.parameters(), config)
        self.device_type = data.train.x.device.type
        if config.precision == "fp16" and self.device_type != "cuda":
            raise ConfigError("--precision fp16 needs a CUDA device; use bf16 on the CPU")
        self.autocast_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[config.precision]
        # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none.
        self.scaler = torch.amp.GradScaler("cuda") if config.precision == "fp16" else None
        self.steps_per_epoch = num_batches(int(data.train.y.shape[0]), config.batch_size)
        self.total_steps = config.length.to_steps(self.steps_per_epoch)
        self.total_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        self.lr_at = lr_schedule(config, self.total_steps, self.steps_per_epoch)
        self.epoch = 0  # finished epochs
        self.batch = 0  # finished batches of the current epoch
        self.step = 0  # finished optimizer steps
        self.history: list[dict[str, Any]] = []
        self.train_seconds = 0.0
        self._reset_epoch_sums()
        self.callbacks = tuple(callbacks)
        for callback in self.callbacks:
            callback.attach(self)

    @property
    def done(self) -> bool:
        """True once every step of the configured length has run."""
        return self.step >= self.total_steps

    def _reset_epoch_sums(self) -> None:
        device = self.data.train.x.device
        self._loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self._correct = torch.zeros((), dtype=torch.int64, device=device)
        self._seen = 0
        self._epoch_seconds = 0.0

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly where it stands."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "loss_sum": self._loss_sum.cpu().clone(),
            "correct": self._correct.cpu().clone(),
            "seen": self._seen,
            "epoch_seconds": self._epoch_seconds,
            "train_seconds": self.train_seconds,
            "history": list(self.history),
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            **({"callbacks": [c.state_dict() for c in self.callbacks]} if self.callbacks else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state written by :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.batch, self.step = int(state["epoch"]), int(state["batch"]), int(state["step"])
        device = self.data.train.x.device
        self._loss_sum = state["loss_sum"].to(device=device, dtype=torch.float64)
        self._correct = state["correct"].to(device=device, dtype=torch.int64)
        self._seen = int(state["seen"])
        self._epoch_seconds = float(state["epoch_seconds"])
        self.train_seconds = float(state["train_seconds"])
        self.history = list(state["history"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        for callback, saved in zip(self.callbacks, state.get("callbacks", []), strict=False):
            callback.load_state_dict(saved)

    def run(
        self,
        *,
        on_epoch_end: EpochHook | None = None,
        on_checkpoint: Hook | None = None,
        checkpoint_seconds: float | None = None,
        on_step: StepHook | None = None,
    ) -> list[dict[str, Any]]:
        """Train until the configured length; return the per-epoch history.

        ``on_epoch_end`` gets each epoch's metrics; ``on_checkpoint`` is called after
        every epoch and, if ``checkpoint_seconds`` is set, mid-epoch at that interval;
        ``on_step`` gets the number of finished steps after every step (before any
        checkpoint of that step), e.g. to keep the weights of a rewind point.
        """
        self.model.train()
        if self.total_steps == 0 and not self.history:
            # A zero-length run still reports how the model does as it stands.
            metrics = self._finish_epoch()
            if on_epoch_end is not None:
                on_epoch_end(metrics)
        last_checkpoint = time.monotonic()
        while not self.done:
            started = time.monotonic()
            epoch_steps = min(self.steps_per_epoch, self.total_steps - self.epoch * self.steps_per_epoch)
            batches = train_batches(
                self.data.train,
                self.config.batch_size,
                seed=self.seed,
                epoch=self.epoch,
                augment=self.augment,
                crop_padding=self.crop_padding,
                start_batch=self.batch,
            )
            for x, y in batches:
                if self.batch >= epoch_steps:
                    break
                self._train_step(x, y)
                if on_step is not None:
                    on_step(self.step)
                if checkpoint_seconds is not None and on_checkpoint is not None:
                    now = time.monotonic()
                    if now - last_checkpoint >= checkpoint_seconds and self.batch < epoch_steps:
                        self._add_time(started, now)
                        started = now
                        on_checkpoint()
                        last_checkpoint = time.monotonic()
            self._add_time(started, time.monotonic())
            metrics = self._finish_epoch()
            if on_epoch_end is not None:
                on_epoch_end(metrics)
            if on_checkpoint is not None:
                on_checkpoint()
                last_checkpoint = time.monotonic()
        return self.history

    def _add_time(self, start: float, end: float) -> None:
        self._epoch_seconds += end - start
        self.train_seconds += end - start

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.autocast_dtype is None:
            out = self.model(x)
            loss = F.cross_entropy(out, y)
        else:
            with torch.autocast(self.device_type, dtype=self.autocast_dtype):
                out = self.model(x)
                loss = F.cross_entropy(out.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        for callback in self.callbacks:
            callback.after_backward(self)
        if self.enforcer is not None:
            self.enforcer.mask_gradients()
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.enforcer is not None:
            self.enforcer.mask_weights()
        # Running sums stay on the device (no sync per step); float64 for the loss sum.
        with torch.no_grad():
            self._loss_sum.add_(loss.detach(), alpha=y.shape[0])
            self._correct.add_((out.argmax(dim=1) == y).sum())
        self._seen += y.shape[0]
        self.batch += 1
        self.step += 1
        for callback in self.callbacks:
            callback.after_step(self)

    def _finish_epoch(self) -> dict[str, Any]:
        started = time.monotonic()
        trained = self._seen > 0
        metrics: dict[str, Any] = {
            "epoch": self.epoch + 1 if trained else self.epoch,
            "step": self.step,
            "lr": self.lr_at(self.step - 1) if trained else None,
            "train_loss": float(self._loss_sum) / self._seen if trained else None,
            "train_accuracy": int(self._correct) / self._seen if trained else None,
        }
        splits = {"val": self.data.val, "test": self.data.test}
        finished = self.epoch + 1 if trained else self.epoch
        # Evaluate every eval_every epochs and always after the last one.
        evaluating = self.step >= self.total_steps or finished % self.config.eval_every == 0
        for name, split in splits.items():
            if split is None or not evaluating:
                metrics[f"{name}_loss"] = metrics[f"{name}_accuracy"] = None
                continue
            loss, accuracy = evaluate(self.model, split, self.eval_batch_size)
            metrics[f"{name}_loss"], metrics[f"{name}_accuracy"] = loss, accuracy
        for callback in self.callbacks:
            metrics.update(callback.epoch_metrics(self))
        self.model.train()
        eval_seconds = time.monotonic() - started
        self.train_seconds += eval_seconds
        metrics["seconds"] = self._epoch_seconds + eval_seconds
        self.history.append(metrics)
        self.epoch += 1 if trained else 0
        self.batch = 0
        self._reset_epoch_sums()
        return metrics
