"""Compaction: cut every unit and channel a ticket leaves dead out of the network.

A channel (a unit of a Linear layer, a channel of a Conv2d) with no active weight -- no
kept weight on an input-output path goes in or out of it (:mod:`ticketlab.masks.effective`)
-- is removed with everything that touches it: its row in the layers that write it, its
column(s) in the layers that read it (``H * W`` columns after a flatten), its BatchNorm
entries, on both sides of every residual sum it takes part in (:mod:`.trace`).

Removing a dead channel is exact. Either nothing on a path to the output reads it (its
readers' weights from it are pruned), or the input does not reach it, so it holds the same
values for every input (a bias through BatchNorm and ReLU, say). Those values are folded
into the readers: one pass of the masked network records what each reader receives from
its removed channels, and that contribution becomes part of its bias -- or, for a padded
convolution whose borders see the constant differently, a fixed per-position map added
after it (:class:`BiasMapped`). The network is compacted as it is in eval mode (BatchNorm
with its running statistics).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.export.modules import BiasMapped, module_spec, replace_module
from ticketlab.export.trace import NORMS, WEIGHTED, Graph, trace_spaces
from ticketlab.masks import Mask, apply_mask, effective_mask


@dataclass(frozen=True)
class LayerCut:
    """One Conv2d/Linear layer before and after compaction (units: its outputs, inputs: its input channels/features)."""

    name: str
    kind: str
    units: int
    kept_units: int
    inputs: int
    kept_inputs: int
    folded: str  # "", "bias" or "map": how removed inputs' constant contribution was kept

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Compacted:
    """The compact network (eval mode), what was cut per layer, and how to rebuild it (module path -> spec)."""

    module: nn.Module
    layers: list[LayerCut]
    specs: dict[str, dict[str, Any]]


def compact_model(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> Compacted:
    """A dense network without the dead units and channels of ``model`` under ``mask``, computing the same function.

    ``model`` is not modified. Layers the mask does not cover count as kept; every channel a
    layer writes to the network's output, and both sides of a grouped convolution, stay.
    Raises :class:`ConfigError` for an architecture the compactor cannot follow.
    """
    net = copy.deepcopy(model).cpu().eval()
    apply_mask(net, mask)
    dtype = next(net.parameters()).dtype
    example = torch.zeros((1, *input_shape), dtype=dtype)
    graph = trace_spaces(net, example)
    modules = dict(net.named_modules())
    active = effective_mask(net, covering_mask(net, mask), tuple(input_shape))
    keep = kept_channels(graph, modules, active)
    inputs = _layer_inputs(net, [modules[name] for name in graph.consumers], example)
    layers, specs = [], {}
    with torch.no_grad():
        for name in graph.consumers:
            layer = modules[name]
            out_keep = keep[graph.root(graph.producers[name])]
            value = graph.consumers[name]
            in_keep = keep[graph.root(value.space)].repeat_interleave(value.repeat)
            contribution = _removed_contribution(layer, inputs[id(layer)], ~in_keep)
            new, folded = _cut(layer, out_keep, in_keep, contribution)
            replace_module(net, name, new)
            specs[name] = module_spec(new)
            layers.append(LayerCut(name, "linear" if isinstance(layer, nn.Linear) else "conv2d", int(out_keep.numel()),
                                   int(out_keep.sum()), int(in_keep.numel()), int(in_keep.sum()), folded))
        for name, space in graph.norms.items():
            new = _cut_norm(modules[name], keep[graph.root(space)])
            replace_module(net, name, new)
            specs[name] = module_spec(new)
    return Compacted(net.eval(), layers, specs)


def covering_mask(model: nn.Module, mask: Mask) -> Mask:
    """``mask`` plus an all-kept entry for every Conv2d/Linear weight it does not cover."""
    full = dict(mask)
    for name, module in model.named_modules():
        key = f"{name}.weight" if name else "weight"
        if isinstance(module, WEIGHTED) and key not in full:
            full[key] = torch.ones_like(module.weight, dtype=torch.bool, device="cpu")
    return full


def kept_channels(graph: Graph, modules: dict[str, nn.Module], active: Mask) -> dict[int, torch.Tensor]:
    """Root space -> which of its channels have an active weight going in or out (frozen spaces: all)."""
    roots = {graph.root(space) for space in graph.sizes}
    alive = {root: torch.zeros(graph.sizes[root], dtype=torch.bool) for root in roots}
    for name, space in graph.producers.items():
        weight = active[f"{name}.weight"]
        alive[graph.root(space)] |= weight.reshape(weight.shape[0], -1).any(dim=1).cpu()
    for name, value in graph.consumers.items():
        if getattr(modules[name], "groups", 1) != 1:  # both of its sides are frozen
            continue
        weight = active[f"{name}.weight"]
        per_input = weight.reshape(weight.shape[0], weight.shape[1], -1).any(dim=2).any(dim=0).cpu()
        alive[graph.root(value.space)] |= per_input.reshape(-1, value.repeat).any(dim=1)
    for root in roots:
        if graph.is_frozen(root):
            alive[root][:] = True
        elif not alive[root].any():  # nothing alive: keep one channel rather than a zero-size layer
            alive[root][0] = True
    return alive


def _layer_inputs(net: nn.Module, layers: list[nn.Module], example: torch.Tensor) -> dict[int, torch.Tensor]:
    """The input each layer receives on ``example`` (first call), by module id."""
    seen: dict[int, torch.Tensor] = {}

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        seen.setdefault(id(module), args[0].detach().clone())

    handles = [layer.register_forward_pre_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            net(example)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _removed_contribution(layer: nn.Module, x: torch.Tensor, removed: torch.Tensor) -> torch.Tensor | None:
    """What ``layer`` adds to its output from the ``removed`` inputs (without its bias), or None if none removed."""
    if not bool(removed.any()):
        return None
    dim = -1 if isinstance(layer, nn.Linear) else 1
    index = [slice(None)] * x.dim()
    index[dim] = ~removed.to(x.device)
    x = x.clone()
    x[tuple(index)] = 0
    if isinstance(layer, nn.Linear):
        return F.linear(x, layer.weight)[0]
    return F.conv2d(x, layer.weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)[0]


def _cut(layer: nn.Module, out_keep: torch.Tensor, in_keep: torch.Tensor,
         contribution: torch.Tensor | None) -> tuple[nn.Module, str]:
    """``layer`` restricted to the kept outputs and inputs, the removed inputs' contribution folded in."""
    if getattr(layer, "groups", 1) != 1:
        if not (bool(out_keep.all()) and bool(in_keep.all())):
            raise ConfigError("cannot compact a grouped convolution's channels")  # frozen by the trace: never cut
        return copy.deepcopy(layer), ""
    weight = layer.weight[out_keep][:, in_keep]
    bias = None if layer.bias is None else layer.bias[out_keep]
    folded, bias_map = "", None
    if contribution is not None and bool((contribution != 0).any()):
        contribution = contribution[out_keep]
        flat = contribution.reshape(contribution.shape[0], -1)
        spread = (flat.max(dim=1).values - flat.min(dim=1).values).abs()
        if bool((spread <= 1e-6 * flat.abs().amax(dim=1).clamp_min(1.0)).all()):
            constant = flat.mean(dim=1)
            bias = constant if bias is None else bias + constant
            folded = "bias"
        else:
            bias_map, folded = contribution, "map"
    if isinstance(layer, nn.Linear):
        new: nn.Module = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=weight.dtype)
    else:
        new = nn.Conv2d(weight.shape[1], weight.shape[0], layer.kernel_size, layer.stride, layer.padding,
                        layer.dilation, bias=bias is not None, dtype=weight.dtype)
    new.weight.copy_(weight)
    if bias is not None:
        new.bias.copy_(bias)
    if bias_map is not None:
        new = BiasMapped(new, tuple(bias_map.shape), dtype=weight.dtype)
        new.bias_map.copy_(bias_map)
    return new, folded


def _cut_norm(norm: nn.Module, keep: torch.Tensor) -> nn.Module:
    if not isinstance(norm, NORMS):
        raise ConfigError(f"cannot compact a {type(norm).__name__}")
    new = type(norm)(int(keep.sum()), eps=norm.eps, momentum=norm.momentum, affine=norm.affine,
                     track_running_stats=norm.track_running_stats)
    state = {k: (v[keep] if v.dim() == 1 and v.shape[0] == keep.shape[0] else v) for k, v in norm.state_dict().items()}
    floats = [v for v in state.values() if v.is_floating_point()]
    if floats:
        new = new.to(floats[0].dtype)
    new.load_state_dict(state)
    return new
