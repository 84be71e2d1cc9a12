"""The modules an export is made of, described as plain data so it can be rebuilt without pickled code.

A spec is a JSON-able dict naming a module type and its constructor arguments; an export
stores one per module it replaced, and :func:`module_from_spec` builds an empty module of
that shape for ``load_state_dict`` to fill.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from ticketlab.errors import CheckpointError


class BiasMapped(nn.Module):
    """A layer followed by a fixed additive map (per channel and position): the constant that
    removed channels fed a padded convolution, which differs at the borders."""

    def __init__(self, layer: nn.Module, shape: tuple[int, ...], dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.layer = layer
        self.register_buffer("bias_map", torch.zeros(shape, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x) + self.bias_map


def module_spec(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments of a Linear, Conv2d, BatchNorm or :class:`BiasMapped` module."""
    if isinstance(module, BiasMapped):
        return {"type": "BiasMapped", "layer": module_spec(module.layer), "shape": list(module.bias_map.shape)}
    if isinstance(module, nn.Linear):
        return {"type": "Linear", "in_features": module.in_features, "out_features": module.out_features,
                "bias": module.bias is not None}
    if isinstance(module, nn.Conv2d):
        return {"type": "Conv2d", "in_channels": module.in_channels, "out_channels": module.out_channels,
                "kernel_size": list(module.kernel_size), "stride": list(module.stride),
                "padding": list(module.padding) if not isinstance(module.padding, str) else module.padding,
                "dilation": list(module.dilation), "groups": module.groups, "bias": module.bias is not None}
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return {"type": type(module).__name__, "num_features": module.num_features, "eps": module.eps,
                "momentum": module.momentum, "affine": module.affine,
                "track_running_stats": module.track_running_stats}
    raise TypeError(f"no spec for {type(module).__name__}")


def module_from_spec(spec: dict[str, Any]) -> nn.Module:
    """An empty module of the shape ``spec`` describes (the inverse of :func:`module_spec`)."""
    kind = spec.get("type")
    args = {k: v for k, v in spec.items() if k != "type"}
    try:
        if kind == "BiasMapped":
            return BiasMapped(module_from_spec(args["layer"]), tuple(args["shape"]))
        if kind == "Linear":
            return nn.Linear(**args)
        if kind == "Conv2d":
            padding = args.pop("padding")
            return nn.Conv2d(padding=padding if isinstance(padding, str) else tuple(padding),
                             **{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
        if kind in ("BatchNorm1d", "BatchNorm2d"):
            return getattr(nn, kind)(**args)
    except (TypeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"export spec {spec} cannot be built: {exc}") from None
    raise CheckpointError(f"export spec names an unknown module type {kind!r}")


def replace_module(root: nn.Module, path: str, module: nn.Module) -> None:
    """Put ``module`` at the dotted ``path`` of ``root`` (Sequential/ModuleList children by their index names)."""
    if not path:
        raise ValueError("cannot replace the root module")
    parent_path, _, name = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    if name not in parent._modules:
        raise ValueError(f"no submodule {path!r} to replace")
    setattr(parent, name, module)


# Parameter-free modules a tree spec may hold, with the constructor arguments that define them.
_LEAVES: dict[str, tuple[str, ...]] = {
    "ReLU": (), "Tanh": (), "Sigmoid": (), "Identity": (), "LeakyReLU": ("negative_slope",),
    "Flatten": ("start_dim", "end_dim"),
    "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
    "AdaptiveAvgPool2d": ("output_size",), "AdaptiveMaxPool2d": ("output_size",),
}


def tree_spec(module: nn.Module) -> dict[str, Any]:
    """A whole network of Sequential, strong-source residual blocks, weighted layers and the
    parameter-free modules above, as plain data (:func:`module_from_tree` rebuilds it)."""
    from ticketlab.strong.source import SourceResidual

    kind = type(module).__name__
    if type(module) is nn.Sequential:
        return {"type": "Sequential", "children": [[name, tree_spec(child)] for name, child in module.named_children()]}
    if isinstance(module, SourceResidual):
        return {"type": "SourceResidual", "branch": tree_spec(module.branch), "shortcut": tree_spec(module.shortcut),
                "after": tree_spec(module.after)}
    if kind in _LEAVES and type(module) is getattr(nn, kind):
        return {"type": kind, **{arg: _plain(getattr(module, arg)) for arg in _LEAVES[kind]}}
    return module_spec(module)


def module_from_tree(spec: dict[str, Any]) -> nn.Module:
    """The empty network a :func:`tree_spec` describes."""
    from ticketlab.strong.source import SourceResidual

    kind = spec.get("type")
    if kind == "Sequential":
        return nn.Sequential(OrderedDict((name, module_from_tree(child)) for name, child in spec["children"]))
    if kind == "SourceResidual":
        return SourceResidual(module_from_tree(spec["branch"]), module_from_tree(spec["shortcut"]),
                              module_from_tree(spec["after"]))
    if kind in _LEAVES:
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "type"}
        return getattr(nn, str(kind))(**args)
    return module_from_spec(spec)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
