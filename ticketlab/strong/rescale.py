"""Rescaling a ReLU target into an equivalent one that random candidates reach well.

ReLU and leaky ReLU are positively homogeneous (phi(c x) = c phi(x) for c > 0), and so
are max- and average-pooling, so multiplying a layer's output by c (its weights and bias
by c) and the next layer's weights by 1 / c computes the same function. A subset sum of
m random candidates reaches targets near the middle of its sums (their mean sum(a)/2,
standard deviation sqrt(sum(a^2))/2, the candidates' *width*) far more precisely than
targets out in the tails or beyond the candidates' range, whatever the solver does.

:func:`balance` chooses one factor per activation (every layer output, in log space) so
that every approximated layer's largest weight lands at ``reach`` widths of its
candidates' subset sums, as nearly as the network allows, and no layer's largest bias
lands beyond that many widths of its own candidates: the input and the output keep
their scale (the ticket computes the target's function itself, not a multiple of it),
and the two sides of a residual addition share theirs. The factors solve a least-squares
problem over the layers; a layer that is not approximated (it keeps its trained weights)
absorbs whatever the others need. :func:`apply` returns the rescaled operations.

The random source network is not touched: it is drawn from the seed before any target
weight is read, and only the target is replaced by an equivalent one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor

from ticketlab.strong.target import Affine, Fixed, Op, Residual


@dataclass(frozen=True)
class Rescaling:
    """The factors chosen: per affine layer (by name) for its weight and its bias, and per
    top-level operation the factor its output carries in the rebuilt network."""

    weight: dict[str, float]
    bias: dict[str, float]
    after_op: list[float]


class _Nodes:
    """Activations as variables (log scale factors); node 0 is pinned at 0 (input, output)."""

    def __init__(self) -> None:
        self.parent = [0]
        self.edges: list[tuple[str, int, int]] = []  # (layer, node in, node out)

    def new(self) -> int:
        self.parent.append(len(self.parent))
        return len(self.parent) - 1

    def find(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def tie(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:  # keep the pinned node as the root when it is one of them
            low, high = min(a, b), max(a, b)
            self.parent[high] = low

    def walk(self, ops: Sequence[Op], node: int, after: list[int] | None = None) -> int:
        for op in ops:
            if isinstance(op, Affine):
                out = self.new()
                self.edges.append((op.name, node, out))
                node = out
            elif isinstance(op, Residual):
                branch = self.walk(op.branch, node)
                shortcut = self.walk(op.shortcut, node) if op.shortcut else node
                self.tie(branch, shortcut)
                node = branch
            if after is not None:
                after.append(node)
        return node


def balance(ops: Sequence[Op], weights: dict[str, float], biases: dict[str, float] | None = None) -> Rescaling:
    """Factors for ``ops`` putting each layer named in ``weights`` as near as possible to its
    preferred weight factor (least squares in log space), while no bias named in ``biases``
    gets a factor above its preferred one.

    A weight tensor far from its preference loses either precision (too small) or its
    reach (too large); a bias shares its layer's output factor, so it only limits how
    large that factor may be: its constraint joins the least squares where it would
    otherwise be exceeded (repeated until none is).
    """
    nodes = _Nodes()
    after: list[int] = []
    end = nodes.walk(ops, 0, after)
    nodes.tie(end, 0)
    roots = sorted({nodes.find(i) for i in range(len(nodes.parent))} - {0})
    column = {root: j for j, root in enumerate(roots)}

    def row(start: int | None, stop: int) -> np.ndarray:
        # coefficients of log factor(stop) - log factor(start); start None: log factor(stop)
        out = np.zeros(len(roots))
        a, b = (None if start is None else nodes.find(start)), nodes.find(stop)
        if b:
            out[column[b]] += 1.0
        if a:
            out[column[a]] -= 1.0
        return out

    equations = [(row(start, stop), math.log(weights[name])) for name, start, stop in nodes.edges if name in weights]
    limits = {name: (row(None, stop), math.log(biases[name])) for name, _, stop in nodes.edges
              if biases and name in biases}
    active: set[str] = set()
    log_scale = np.zeros(len(roots))
    while True:
        system = [(r, v) for r, v in equations + [limits[name] for name in sorted(active)] if r.any()]
        if system and roots:
            log_scale = np.linalg.lstsq(np.array([r for r, _ in system]), np.array([v for _, v in system]),
                                        rcond=None)[0]
        exceeded = {name for name, (r, v) in limits.items() if name not in active and r @ log_scale > v + 1e-9}
        if not exceeded:
            break
        active |= exceeded

    def factor(node: int) -> float:
        root = nodes.find(node)
        return 1.0 if root == 0 else math.exp(float(log_scale[column[root]]))

    weight = {name: factor(stop) / factor(start) for name, start, stop in nodes.edges}
    bias = {name: factor(stop) for name, _, stop in nodes.edges}
    return Rescaling(weight, bias, [factor(node) for node in after])


def apply(ops: Sequence[Op], rescaling: Rescaling) -> list[Op]:
    """``ops`` with every affine layer's weight and bias multiplied by its factors."""
    out: list[Op] = []
    for op in ops:
        if isinstance(op, Affine):
            bias: Tensor | None = None if op.bias is None else op.bias * rescaling.bias[op.name]
            out.append(Affine(op.name, op.weight * rescaling.weight[op.name], bias, op.stride, op.padding,
                              op.dilation))
        elif isinstance(op, Residual):
            out.append(Residual(apply(op.branch, rescaling), apply(op.shortcut, rescaling), op.after))
        else:
            assert isinstance(op, Fixed)
            out.append(op)
    return out
