"""How good a construction is: weight errors, output errors over a data set, accuracy.

All errors are seed 000's max-based relative errors: per tensor
``max|w - w_hat| / max|w|``, and per block over a data set
``max|f(x) - f_hat(x)| / max|f(x)|``, where a block is one top-level operation of the
target (a layer with its activation and pooling, or a residual block).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from ticketlab.strong.construct import Construction
from ticketlab.strong.target import Affine, Op, Residual, affine_layers, run_ops


def weight_errors(construction: Construction) -> list[dict[str, Any]]:
    """Per approximated tensor: its name and max relative error (over every copy of it)."""
    rows = []
    for record in construction.approximations:
        rows.append({"tensor": f"{record.name}.weight", "max_rel_error": record.relative_weight_error})
        if record.relative_bias_error is not None:
            rows.append({"tensor": f"{record.name}.bias", "max_rel_error": record.relative_bias_error})
    return rows


def _block_names(ops: list[Op]) -> list[str]:
    names = []
    for index, op in enumerate(ops):
        if isinstance(op, Affine):
            names.append(op.name)
        elif isinstance(op, Residual):
            inner = affine_layers([op])
            names.append(f"block({inner[0].name}..{inner[-1].name})" if inner else f"block {index}")
        else:
            names.append(type(op.module).__name__.lower())
    return names


@torch.no_grad()
def output_errors(construction: Construction, batches: Iterable[Tensor]) -> list[dict[str, Any]]:
    """After every top-level operation: max |target - ticket| / max |target| over ``batches``.

    Rows are reported for operations that end a block (the last op before the next
    layer), so a layer's row includes its activation and pooling. Where the source keeps
    several copies of every unit (burkholz-l1), the first copy of each is compared; where
    the target was rescaled, the source's activations are divided by their factor.
    """
    ops = construction.target_ops
    ticket = construction.ticket()
    modules = list(ticket.children())
    source_index = _source_positions(ops, modules)
    names = _block_names(ops)
    diff = [0.0] * len(ops)
    scale = [0.0] * len(ops)
    for x in batches:
        target = x.double()
        source = x.double()
        position = 0
        for k, op in enumerate(ops):
            target = run_ops([op], target)
            while position < source_index[k]:
                source = modules[position](source)
                position += 1
            readout = construction.readouts[k] if construction.readouts else None
            carried = source if readout is None else source.index_select(1, readout.to(source.device))
            if construction.rescaling is not None:
                carried = carried / construction.rescaling.after_op[k]
            diff[k] = max(diff[k], float((target - carried).abs().max()))
            scale[k] = max(scale[k], float(target.abs().max()))
    rows = []
    for k in range(len(ops)):
        ends_block = k + 1 == len(ops) or isinstance(ops[k + 1], (Affine, Residual))
        if ends_block and any(isinstance(o, (Affine, Residual)) for o in ops[: k + 1]):
            rows.append({"after": names[_owner(ops, k)], "max_rel_error": diff[k] / scale[k] if scale[k] else 0.0})
    return rows


def _owner(ops: list[Op], k: int) -> int:
    """The index of the layer (or block) that operation ``k`` belongs to."""
    while k > 0 and not isinstance(ops[k], (Affine, Residual)):
        k -= 1
    return k


def _source_positions(ops: list[Op], modules: list[nn.Module]) -> list[int]:
    """For every target op, how many source modules compute up to its output.

    Two-layer constructions have one module per op; burkholz-l1 inserts its univariate
    layer (two modules) before the first layer.
    """
    extra = len(modules) - len(ops)
    first = next(i for i, op in enumerate(ops) if isinstance(op, (Affine, Residual)))
    return [k + 1 + (extra if k >= first else 0) for k in range(len(ops))]


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 500, device: str = "cpu") -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, run in float32 on ``device``.

    A ticket's logits differ from the float64 construction's by about 1e-7 relative in
    float32, which changes no argmax that is not already a tie; float64 convolutions
    are several times slower on CPUs.
    """
    model = copy.deepcopy(model).float().eval().to(device)
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        out = model(x[start:start + batch_size].float().to(device))
        correct += int((out.argmax(dim=1) == y[start:start + batch_size].to(device)).sum())
    return correct / max(int(x.shape[0]), 1)
