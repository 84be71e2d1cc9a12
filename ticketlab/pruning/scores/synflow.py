"""SynFlow (Tanaka et al.): data-free synaptic saliency of the absolute-valued network."""

from __future__ import annotations

import copy

import torch

from ticketlab.pruning.scores.context import ScoreContext, Scores


def synflow(ctx: ScoreContext) -> Scores:
    """|dR/dw * w| with R = sum of the output of |network| on an all-ones input.

    Runs on a float64 copy in eval mode (BatchNorm uses its running statistics and
    nothing is updated) with every parameter replaced by its absolute value and the
    pruned entries zero. float64 because R is a product over depth: float32 overflows
    or underflows on deep nets and turns scores into inf or 0 ties.
    """
    model = copy.deepcopy(ctx.model).to(torch.float64).eval()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
        for name, alive in ctx.mask.items():
            params[name].mul_(alive.to(params[name].device, torch.float64))
    weights = [params[name].requires_grad_(True) for name in ctx.mask]
    device = weights[0].device
    ones = torch.ones((1, *ctx.input_shape), dtype=torch.float64, device=device)
    flow = model(ones).sum()
    grads = torch.autograd.grad(flow, weights, allow_unused=True)
    return {
        name: (torch.zeros_like(w) if g is None else g * w).detach().abs()
        for name, g, w in zip(ctx.mask, grads, weights, strict=True)
    }
