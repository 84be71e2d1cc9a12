"""Training FLOPs of a sparse run, counted step by step, relative to dense training.

The convention is the RigL paper's (Evci et al. 2020, appendix H): only the
multiply-adds of Conv/Linear layers count (biases, normalisation and activations are
left out); a layer under a mask of density d costs d times its dense forward FLOPs;
backward costs twice the forward (the gradients of the activations and of the weights,
each as much as the forward). A step costs 3 f_S, f_S being the sparse forward FLOPs
under the mask the step ran with; a step that also yields the dense gradient (RigL's
update steps) costs 2 f_S + f_D, the weight gradient being dense. Dense training of the
same model for the same steps costs 3 f_D per step. Counts are per example, every step
weighted alike; the mask updates themselves (sorting) are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ticketlab.masks import Mask


def layer_macs(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, float]:
    """Dense forward multiply-adds of every Conv/Linear weight, per example, by parameter name.

    Runs one forward pass of one zero example in eval mode (the model's mode is restored);
    a layer called twice counts twice.
    """
    names = {module: name for name, module in model.named_modules()}
    macs: dict[str, float] = {}

    def count(module: nn.Module, _: Any, output: torch.Tensor) -> None:
        weight = module.weight  # type: ignore[union-attr]
        positions = output[0].numel() / weight.shape[0]
        key = f"{names[module]}.weight" if names[module] else "weight"
        macs[key] = macs.get(key, 0.0) + weight.numel() * positions

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))]
    handles = [m.register_forward_hook(count) for m in layers]
    training = model.training
    device = next(model.parameters()).device
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), device=device))
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    return macs


def sparse_forward(macs: dict[str, float], mask: Mask) -> float:
    """Forward FLOPs under ``mask``: each masked layer's MACs times its density, others dense."""
    total = 0.0
    for name, count in macs.items():
        m = mask.get(name)
        total += count if m is None else count * int(m.sum()) / m.numel()
    return total


@dataclass
class TrainingCost:
    """FLOPs spent so far (``flops``, per example) against the dense forward ``dense_forward``."""

    dense_forward: float
    flops: float = 0.0
    steps: int = 0
    dense_gradient_steps: int = 0

    def add_step(self, sparse_forward: float, *, dense_gradient: bool) -> None:
        """Count one training step run under a mask whose forward costs ``sparse_forward``."""
        backward = sparse_forward + (self.dense_forward if dense_gradient else sparse_forward)
        self.flops += sparse_forward + backward
        self.steps += 1
        self.dense_gradient_steps += int(dense_gradient)

    @property
    def ratio(self) -> float | None:
        """Training FLOPs relative to dense training of the same steps (None before any step)."""
        dense = 3.0 * self.dense_forward * self.steps
        return self.flops / dense if dense > 0 else None

    def state_dict(self) -> dict[str, Any]:
        """The counters, for a checkpoint."""
        return asdict(self)
