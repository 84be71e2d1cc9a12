"""Assembling a source network op by op: approximated layers replaced, the rest kept.

The source is an ``nn.Sequential`` with one module per top-level target operation, so
the outputs of target and source can be compared after every operation. Layers that are
not approximated keep the target's trained weights (they are not random and carry no
mask); the ticket is the random part under its mask.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ticketlab.strong.record import LayerApproximation
from ticketlab.strong.source import SourceResidual, conv_or_linear, fill
from ticketlab.strong.target import Affine, Fixed, Op, nonnegative_after, run_ops

Approximator = Callable[[Affine, bool, Tensor], "Replacement"]


@dataclass
class Replacement:
    """What replaces one target layer: a module, its mask (relative names), and what it approximates."""

    module: nn.Module
    mask: dict[str, Tensor]
    approximations: list[LayerApproximation] = field(default_factory=list)


@dataclass
class Assembly:
    """The source network, its mask (full parameter names), and per-layer records."""

    network: nn.Sequential
    mask: dict[str, Tensor]
    approximations: list[LayerApproximation]
    random_parameters: int
    # Per top-level target op: the source channels (dim 1) that hold its output, one per
    # target unit, or None where the source's activation is the target's.
    readouts: list[Tensor | None] = field(default_factory=list)


def kept_layer(layer: Affine) -> nn.Module:
    """A target layer copied as is (float64), for layers left out of the approximation."""
    kernel = tuple(layer.weight.shape[2:])
    module = conv_or_linear(layer.weight.shape[1], layer.weight.shape[0], kernel, bias=layer.bias is not None,
                            stride=layer.stride, padding=layer.padding, dilation=layer.dilation)
    return fill(module, layer.weight, layer.bias)


def assemble(ops: Sequence[Op], example: Tensor, nonnegative_input: bool, replace: Callable[[Affine], bool],
             approximate: Approximator) -> Assembly:
    """Rebuild ``ops`` as a source network, replacing the layers ``replace`` selects.

    ``example`` is one input (1, C, H, W) in float64, used only for shapes;
    ``approximate(layer, nonnegative_input, layer_input)`` builds one replacement.
    """
    modules, mask, records = _assemble(ops, example, nonnegative_input, replace, approximate, "")
    network = nn.Sequential(*modules)
    random = sum(int(m.numel()) for m in mask.values())
    return Assembly(network, mask, records, random)


def _assemble(ops: Sequence[Op], x: Tensor, nonnegative: bool, replace: Callable[[Affine], bool],
              approximate: Approximator, prefix: str
              ) -> tuple[list[nn.Module], dict[str, Tensor], list[LayerApproximation]]:
    modules: list[nn.Module] = []
    mask: dict[str, Tensor] = {}
    records: list[LayerApproximation] = []
    for index, op in enumerate(ops):
        name = f"{prefix}{index}"
        if isinstance(op, Affine):
            if replace(op):
                replacement = approximate(op, nonnegative, x)
                modules.append(replacement.module)
                mask.update({f"{name}.{key}": value for key, value in replacement.mask.items()})
                records += replacement.approximations
            else:
                modules.append(kept_layer(op))
        elif isinstance(op, Fixed):
            modules.append(copy.deepcopy(op.module))
        else:
            branch, branch_mask, branch_records = _assemble(op.branch, x, nonnegative, replace, approximate,
                                                            f"{name}.branch.")
            shortcut, short_mask, short_records = _assemble(op.shortcut, x, nonnegative, replace, approximate,
                                                            f"{name}.shortcut.")
            after = copy.deepcopy(op.after.module) if op.after is not None else nn.Identity()
            modules.append(SourceResidual(nn.Sequential(*branch), nn.Sequential(*shortcut), after))
            mask.update(branch_mask)
            mask.update(short_mask)
            records += branch_records + short_records
        nonnegative = nonnegative_after(op, nonnegative)
        with torch.no_grad():
            x = run_ops([op], x)
    return modules, mask, records


def masked_copy(network: nn.Module, mask: dict[str, Tensor]) -> nn.Module:
    """The ticket: a copy of the source network with every pruned weight set to zero."""
    ticket = copy.deepcopy(network)
    params = dict(ticket.named_parameters())
    with torch.no_grad():
        for name, keep in mask.items():
            params[name].mul_(keep.to(params[name].dtype))
    return ticket
