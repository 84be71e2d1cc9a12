"""Optimizers from a :class:`TrainConfig`."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ticketlab.training.config import TrainConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov) or Adam with L2 weight decay, at the base learning rate."""
    assert config.lr is not None
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
