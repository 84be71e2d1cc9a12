"""build_optimizer's multi-tensor step gives the per-parameter step's weights bit for bit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.training import TrainConfig
from ticketlab.training.optim import build_optimizer


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def _train(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    for _ in range(12):
        x = torch.randn(8, 1, 8, 8, generator=generator)
        y = torch.randint(0, 3, (8,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("optimizer,nesterov", [("sgd", False), ("sgd", True), ("adam", False)])
def test_foreach_step_equals_per_parameter_step(optimizer: str, nesterov: bool) -> None:
    config = TrainConfig(optimizer=optimizer, lr=0.05, momentum=0.9, nesterov=nesterov, weight_decay=5e-4)
    ours_model = _net()
    ours = build_optimizer(ours_model.parameters(), config)
    assert ours.defaults["foreach"] is True
    reference_model = _net()
    if optimizer == "sgd":
        reference = torch.optim.SGD(reference_model.parameters(), lr=0.05, momentum=0.9, nesterov=nesterov,
                                    weight_decay=5e-4, foreach=False)
    else:
        reference = torch.optim.Adam(reference_model.parameters(), lr=0.05, weight_decay=5e-4, foreach=False)
    got, expected = _train(ours_model, ours), _train(reference_model, reference)
    assert any(not torch.equal(p, q) for p, q in zip(got, [p.detach() for p in _net().parameters()]))  # it trained
    assert all(torch.equal(p, q) for p, q in zip(got, expected))
