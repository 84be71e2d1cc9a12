"""The loss as a function of one flat parameter vector, with gradients and Hessian-vector products.

IMC works on L(W) for the flat vector W of the prunable weights (every other parameter
held fixed). :class:`Objective` is a sum of terms (one per data chunk, so memory stays
bounded); :func:`model_objective` builds one from a model and a fixed set of batches.
Nothing here ever forms a d x d matrix: the Hessian is only touched through products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

Term = Callable[[Tensor], Tensor]


class Objective:
    """``L(w) = sum of terms(w)`` for a flat vector ``w``; counts the HVPs it evaluates."""

    def __init__(self, terms: Sequence[Term], size: int, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> None:
        if not terms:
            raise ValueError("an objective needs at least one term")
        self.terms = list(terms)
        self.size = size
        self.dtype = dtype
        self.device = torch.device(device)
        self.hvp_count = 0

    def value(self, w: Tensor) -> Tensor:
        """L(w), a scalar tensor (no graph)."""
        with torch.no_grad():
            return sum(term(w) for term in self.terms)  # type: ignore[return-value]

    def gradient(self, w: Tensor) -> Tensor:
        """The gradient of L at ``w``."""
        total = torch.zeros(self.size, dtype=self.dtype, device=self.device)
        for term in self.terms:
            point = w.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(term(point), point)
            total += grad
        return total

    def hvp(self, w: Tensor, v: Tensor) -> Tensor:
        """H(w) v by double backward (exact up to rounding; about 2-3 gradient costs)."""
        self.hvp_count += 1
        v = v.to(self.dtype)
        total = torch.zeros(self.size, dtype=self.dtype, device=self.device)
        for term in self.terms:
            point = w.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(term(point), point, create_graph=True)
            (hv,) = torch.autograd.grad(grad @ v, point)
            total += hv
        return total

    def curvature_gradient(self, w: Tensor, u: Tensor) -> Tensor:
        """The gradient in ``w`` of u^T H(w) u (third derivatives contracted twice with ``u``).

        It tells how to move ``w`` to change the curvature along ``u`` most; the
        Lipschitz search of :mod:`ticketlab.imc.lipschitz` climbs it.
        """
        u = u.to(self.dtype)
        total = torch.zeros(self.size, dtype=self.dtype, device=self.device)
        for term in self.terms:
            point = w.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(term(point), point, create_graph=True)
            (hu,) = torch.autograd.grad(grad @ u, point, create_graph=True)
            curvature = hu @ u
            if not curvature.requires_grad:  # a quadratic term: its curvature never moves
                continue
            (found,) = torch.autograd.grad(curvature, point, allow_unused=True)
            if found is not None:
                total += found
        return total


def flat_parameters(model: nn.Module, names: Sequence[str]) -> Tensor:
    """The named parameters of ``model`` concatenated into one detached flat vector."""
    params = dict(model.named_parameters())
    return torch.cat([params[name].detach().flatten() for name in names])


def split_flat(flat: Tensor, model: nn.Module, names: Sequence[str]) -> dict[str, Tensor]:
    """The inverse of :func:`flat_parameters`: views of ``flat`` shaped like each parameter."""
    params = dict(model.named_parameters())
    out, start = {}, 0
    for name in names:
        count = params[name].numel()
        out[name] = flat[start : start + count].view(params[name].shape)
        start += count
    return out


def model_objective(
    model: nn.Module, names: Sequence[str], batches: Sequence[tuple[Tensor, Tensor]]
) -> Objective:
    """Mean cross-entropy over ``batches`` as a function of the flat ``names`` parameters.

    The other parameters are held at their current values. BatchNorm uses the statistics
    of each batch (the loss SGD sees), on copies of the buffers, so the model is unchanged.
    """
    if not batches:
        raise ValueError("the Hessian needs at least one batch of examples")
    examples = sum(int(y.shape[0]) for _, y in batches)
    fixed = {k: v.detach() for k, v in model.named_parameters() if k not in set(names)}
    buffers = dict(model.named_buffers())
    reference = dict(model.named_parameters())[names[0]]

    def term_for(x: Tensor, y: Tensor) -> Term:
        weight = y.shape[0] / examples

        def term(flat: Tensor) -> Tensor:
            state = {**fixed, **split_flat(flat, model, names), **{k: b.clone() for k, b in buffers.items()}}
            model.train()  # batch statistics, whatever mode the caller left the model in
            logits = functional_call(model, state, (x,))
            return F.cross_entropy(logits, y) * weight

        return term

    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    return Objective([term_for(x, y) for x, y in batches], size, dtype=reference.dtype, device=reference.device)
