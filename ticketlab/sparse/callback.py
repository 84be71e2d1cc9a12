"""A mask that moves during training: the training-loop hook every sparse-training method runs through.

After each optimizer step where its method moves, the mask is replaced, weights of
changed entries set to zero (grown weights start at zero; dropped ones are pruned) and
their optimizer state (momentum, Adam moments) reset, so no stale momentum revives a
grown weight. The mask, the mask at the start of the epoch and the FLOP counters are
part of the trainer's checkpoint: a killed run resumes to the same masks, bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ticketlab.masks import Mask, count_kept, effective_report_or_none
from ticketlab.pruning.structures import Structure
from ticketlab.seeding import generator
from ticketlab.sparse.config import SparseConfig
from ticketlab.sparse.flops import TrainingCost, sparse_forward
from ticketlab.sparse.methods import SparseMethod, UpdateContext
from ticketlab.training import Callback, Trainer


class MovingMask(Callback):
    """Moves the trainer's mask as ``method`` says; adds sparsity and mask change to every epoch's metrics.

    Epoch metrics: ``sparsity`` (direct), ``effective_sparsity`` (None for a model the
    effective pass cannot analyse) and ``mask_changed`` (the fraction of the mask's
    entries whose state differs from the end of the previous epoch).
    """

    def __init__(self, method: SparseMethod, config: SparseConfig, mask: Mask, *, seed: int,
                 input_shape: tuple[int, ...], macs: dict[str, float], structure: Structure | None = None) -> None:
        self.method, self.config, self.seed, self.input_shape, self.macs = method, config, seed, input_shape, macs
        self.structure = structure or Structure()
        self.mask = {name: m.detach().cpu().clone() for name, m in mask.items()}
        self.epoch_mask = {name: m.clone() for name, m in self.mask.items()}
        self.cost = TrainingCost(sum(macs.values()))
        self.updates = 0
        self._forward = sparse_forward(macs, self.mask)
        self._gradients: dict[str, torch.Tensor] | None = None
        self._trainer: Trainer | None = None

    def attach(self, trainer: Trainer) -> None:
        if trainer.enforcer is None:
            raise ValueError("a moving mask needs a trainer with a mask")
        self._trainer = trainer

    def _params(self, trainer: Trainer) -> dict[str, nn.Parameter]:
        params = dict(trainer.model.named_parameters())
        return {name: params[name] for name in self.mask}

    def after_backward(self, trainer: Trainer) -> None:
        if self.method.wants_gradient and self.method.moves_at(trainer.step + 1, trainer.total_steps, self.config):
            self._gradients = {
                name: torch.zeros(p.shape) if p.grad is None else p.grad.detach().abs().float().cpu()
                for name, p in self._params(trainer).items()
            }

    def after_step(self, trainer: Trainer) -> None:
        self.cost.add_step(self._forward, dense_gradient=self._gradients is not None)
        if not self.method.moves_at(trainer.step, trainer.total_steps, self.config):
            return
        params = self._params(trainer)
        ctx = UpdateContext(
            step=trainer.step, total_steps=trainer.total_steps,
            weights={name: p.detach().float().cpu() for name, p in params.items()}, mask=self.mask,
            gradients=self._gradients, config=self.config,
            generator=generator(self.seed, "sparse-update", trainer.step), structure=self.structure,
        )
        self._gradients = None
        self._move(trainer, params, self.method.update(ctx))

    @torch.no_grad()
    def _move(self, trainer: Trainer, params: dict[str, nn.Parameter], mask: Mask) -> None:
        for name, p in params.items():
            changed = (mask[name] ^ self.mask[name]).to(p.device)
            p.masked_fill_(changed, 0.0)
            for value in trainer.optimizer.state.get(p, {}).values():
                if isinstance(value, torch.Tensor) and value.shape == p.shape:
                    value.masked_fill_(changed, 0)
        self.mask = {name: m.clone() for name, m in mask.items()}
        self._set(trainer)
        self.updates += 1

    def _set(self, trainer: Trainer) -> None:
        assert trainer.enforcer is not None
        trainer.enforcer.set_mask(self.mask)
        self._forward = sparse_forward(self.macs, self.mask)

    def epoch_metrics(self, trainer: Trainer) -> dict[str, Any]:
        kept, total = count_kept(self.mask)
        flipped = sum(int((m ^ self.epoch_mask[name]).sum()) for name, m in self.mask.items())
        report = effective_report_or_none(trainer.model, self.mask, self.input_shape)
        self.epoch_mask = {name: m.clone() for name, m in self.mask.items()}
        return {
            "sparsity": 1.0 - kept / total if total else 0.0,
            "effective_sparsity": None if report is None else report.effective_sparsity,
            "mask_changed": flipped / total if total else 0.0,
        }

    def state_dict(self) -> dict[str, Any]:
        return {"mask": dict(self.mask), "epoch_mask": dict(self.epoch_mask), "cost": self.cost.state_dict(),
                "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mask = {name: m.cpu().clone() for name, m in state["mask"].items()}
        self.epoch_mask = {name: m.cpu().clone() for name, m in state["epoch_mask"].items()}
        self.cost = TrainingCost(**state["cost"])
        self.updates = int(state["updates"])
        if self._trainer is not None:
            self._set(self._trainer)
