"""Loss and accuracy of a model on a data split."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.data import TensorSplit, eval_batches


@torch.no_grad()
def evaluate(model: nn.Module, split: TensorSplit, batch_size: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy in [0, 1]) of ``model`` in eval mode on ``split``.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    count = 0
    try:
        for x, y in eval_batches(split, batch_size):
            out = model(x)
            loss_sum += F.cross_entropy(out, y, reduction="sum").double().cpu()
            correct += (out.argmax(dim=1) == y).sum().cpu()
            count += y.shape[0]
    finally:
        model.train(was_training)
    if count == 0:
        return float("nan"), float("nan")
    return float(loss_sum) / count, int(correct) / count
