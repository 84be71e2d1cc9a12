"""Data-dependent scores: SNIP and GraSP.

Both run on a deep copy of the model in training mode, so BatchNorm uses batch statistics
(as in the SNIP and GraSP reference code) while the caller's running statistics, modes,
``requires_grad`` flags and ``.grad`` fields stay untouched.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.pruning.scores.context import Batch, ScoreContext, Scores


def scoring_copy(ctx: ScoreContext) -> tuple[nn.Module, list[Tensor]]:
    """A training-mode deep copy of the model and its masked weights (requiring grad)."""
    if not ctx.batches:
        raise ConfigError("this pruning method needs scoring batches, and none were given")
    model = copy.deepcopy(ctx.model).train()
    params = dict(model.named_parameters())
    weights = [params[name].requires_grad_(True) for name in ctx.mask]
    return model, weights


def batch_loss(model: nn.Module, batch: Batch, temperature: float = 1.0) -> Tensor:
    """Mean cross-entropy of one batch, logits divided by ``temperature``."""
    device = next(model.parameters()).device
    x, y = batch
    return F.cross_entropy(model(x.to(device)) / temperature, y.to(device))


def loss_gradient(
    model: nn.Module, weights: list[Tensor], batches: list[Batch], temperature: float = 1.0
) -> list[Tensor]:
    """d/dw of the sum over ``batches`` of the mean cross-entropy (detached)."""
    total = [torch.zeros_like(w) for w in weights]
    for batch in batches:
        grads = torch.autograd.grad(
            batch_loss(model, batch, temperature), weights, allow_unused=True
        )
        for acc, g in zip(total, grads, strict=True):
            if g is not None:
                acc.add_(g)
    return total


def snip(ctx: ScoreContext) -> Scores:
    """SNIP (Lee et al.): |g * w|, g = dL/dw of the loss summed over the scoring batches."""
    model, weights = scoring_copy(ctx)
    grads = loss_gradient(model, weights, ctx.batches)
    return {
        name: (g * w).detach().abs() for name, g, w in zip(ctx.mask, grads, weights, strict=True)
    }


def grasp(ctx: ScoreContext) -> Scores:
    """GraSP (Wang et al.): (H g) * w with logits / T; the LOWEST scores are pruned.

    g = dL/dw summed over the batches; H g is the gradient of g_b . stopgrad(g) summed
    over batches b, i.e. one extra backward per batch through the graph of g_b.
    Sign: Wang et al. remove the highest entries of -w * (H g); that is removing the
    lowest of w * (H g), so this score follows the convention of every other score.
    """
    model, weights = scoring_copy(ctx)
    temperature = ctx.config.grasp_temperature
    g = loss_gradient(model, weights, ctx.batches, temperature)
    hg = [torch.zeros_like(w) for w in weights]
    for batch in ctx.batches:
        loss = batch_loss(model, batch, temperature)
        g_batch = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
        z = sum(
            ((gb * gs).sum() for gb, gs in zip(g_batch, g, strict=True) if gb is not None),
            torch.zeros((), device=g[0].device),
        )
        if not z.requires_grad:  # a purely linear model has no curvature
            continue
        for acc, h in zip(hg, torch.autograd.grad(z, weights, allow_unused=True), strict=True):
            if h is not None:
                acc.add_(h)
    return {name: (h * w).detach() for name, h, w in zip(ctx.mask, hg, weights, strict=True)}
