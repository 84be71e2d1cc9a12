"""Which tensors of a network share a channel axis: the map compaction cuts along.

The network is traced with ``torch.fx``. Every Conv2d/Linear output starts a *space* (its
channels or units); BatchNorm, activations, dropout and pooling keep a tensor's space;
residual additions merge the spaces of their operands (a channel cut must be cut on both
sides of a sum); flattening a ``(N, C, H, W)`` tensor keeps the space with each channel
spread over ``H * W`` consecutive features. The network's input and output spaces, and
both sides of a grouped convolution, are *frozen*: nothing is cut there. Any other
operation on a tensor is one the compactor cannot follow and raises :class:`ConfigError`.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from ticketlab.errors import ConfigError

WEIGHTED = (nn.Linear, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
# Modules that keep a tensor's channels where they are (elementwise, or per channel over space).
PASS_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish,
    nn.Mish, nn.Softplus, nn.Identity, nn.Dropout, nn.Dropout2d, nn.MaxPool2d, nn.AvgPool2d,
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
)
PASS_FUNCTIONS: tuple[object, ...] = (
    F.relu, torch.relu, F.relu6, F.leaky_relu, F.elu, F.gelu, F.silu, torch.sigmoid, torch.tanh, F.dropout,
    F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d,
)
PASS_METHODS = ("relu", "sigmoid", "tanh", "contiguous", "clone")
ADDITIONS: tuple[object, ...] = (operator.add, operator.iadd, torch.add)
FLATTENS: tuple[object, ...] = (torch.flatten,)
RESHAPE_METHODS = ("view", "reshape", "flatten")


@dataclass(frozen=True)
class Value:
    """A tensor's channel axis: its space and how many consecutive features each channel spans."""

    space: int
    repeat: int = 1


@dataclass
class Graph:
    """The spaces of a traced network and who writes, reads and normalises each one."""

    sizes: dict[int, int] = field(default_factory=dict)  # space -> channel count
    parent: dict[int, int] = field(default_factory=dict)  # union-find over spaces
    frozen: set[int] = field(default_factory=set)
    producers: dict[str, int] = field(default_factory=dict)  # layer -> the space it writes
    consumers: dict[str, Value] = field(default_factory=dict)  # layer -> what it reads
    norms: dict[str, int] = field(default_factory=dict)  # BatchNorm -> its space

    def new(self, size: int) -> int:
        space = len(self.sizes)
        self.sizes[space] = size
        self.parent[space] = space
        return space

    def root(self, space: int) -> int:
        while self.parent[space] != space:
            self.parent[space] = self.parent[self.parent[space]]
            space = self.parent[space]
        return space

    def merge(self, a: int, b: int, where: str) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return
        if self.sizes[ra] != self.sizes[rb]:
            raise ConfigError(f"cannot compact: {where} adds tensors of {self.sizes[ra]} and {self.sizes[rb]} channels")
        self.parent[rb] = ra
        if rb in self.frozen:
            self.frozen.add(ra)

    def is_frozen(self, space: int) -> bool:
        root = self.root(space)
        return any(self.root(s) == root for s in self.frozen)


def trace_spaces(model: nn.Module, example: torch.Tensor) -> Graph:
    """The channel spaces of ``model`` (in eval mode) on an input like ``example``."""
    try:
        traced = torch.fx.symbolic_trace(model)
        ShapeProp(traced).propagate(example)
    except Exception as exc:  # noqa: BLE001 - any tracing failure means we cannot follow it
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot compact this architecture: torch.fx cannot trace it ({reason})") from None
    modules = dict(traced.named_modules())
    graph = Graph()
    values: dict[torch.fx.Node, Value] = {}
    for node in traced.graph.nodes:
        inputs = [values[a] for a in node.all_input_nodes if a in values]
        if node.op == "placeholder":
            values[node] = Value(_frozen_space(graph, node))
        elif node.op == "output":
            for value in inputs:
                graph.frozen.add(value.space)
        elif node.op == "get_attr":
            raise ConfigError(f"cannot compact: '{node.target}' uses a parameter outside a Conv2d/Linear layer")
        elif node.op == "call_module":
            values_out = _module(graph, str(node.target), modules[str(node.target)], node, inputs)
            if values_out is not None:
                values[node] = values_out
        elif _is_tensor(node):
            values[node] = _function(graph, node, inputs)
    return graph


def _frozen_space(graph: Graph, node: torch.fx.Node) -> int:
    shape = _shape(node)
    space = graph.new(shape[1] if len(shape) > 1 else 1)
    graph.frozen.add(space)
    return space


def _module(graph: Graph, name: str, module: nn.Module, node: torch.fx.Node, inputs: list[Value]) -> Value | None:
    if len(inputs) != 1:
        raise ConfigError(f"cannot compact: module '{name}' ({type(module).__name__}) takes {len(inputs)} tensors")
    value = inputs[0]
    if name in graph.producers or name in graph.norms:
        raise ConfigError(f"cannot compact: module '{name}' is called more than once")
    if isinstance(module, WEIGHTED):
        out = graph.new(module.out_features if isinstance(module, nn.Linear) else module.out_channels)
        graph.producers[name] = out
        graph.consumers[name] = value
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.padding_mode != "zeros"):
            graph.frozen.update({value.space, out})
        return Value(out)
    if isinstance(module, NORMS):
        graph.norms[name] = value.space
        return value
    if isinstance(module, PASS_MODULES):
        return value
    if isinstance(module, nn.Flatten):
        return _flattened(node, value, module.start_dim)
    raise ConfigError(f"cannot compact: module '{name}' ({type(module).__name__}) is not one the compactor follows")


def _function(graph: Graph, node: torch.fx.Node, inputs: list[Value]) -> Value:
    target = node.target
    where = f"'{node.name}'"
    if node.op == "call_function" and target in ADDITIONS or node.op == "call_method" and target in ("add", "add_"):
        if len(inputs) == 2:
            if inputs[0].repeat != inputs[1].repeat:
                raise ConfigError(f"cannot compact: {where} adds tensors laid out differently")
            graph.merge(inputs[0].space, inputs[1].space, where)
        return inputs[0]
    if len(inputs) != 1:
        raise ConfigError(f"cannot compact: {where} ({_name(target)}) combines {len(inputs)} tensors")
    value = inputs[0]
    if node.op == "call_function" and target in PASS_FUNCTIONS or node.op == "call_method" and target in PASS_METHODS:
        return value
    if node.op == "call_function" and target in FLATTENS:
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        return _flattened(node, value, int(start))  # type: ignore[arg-type]
    if node.op == "call_method" and target in RESHAPE_METHODS:
        source = _shape(node.all_input_nodes[0])
        shape = _shape(node)
        if len(source) >= 2 and len(shape) == 2 and shape[0] == source[0]:
            return _flattened(node, value, 1)
    raise ConfigError(f"cannot compact: {where} ({_name(target)}) is not an operation the compactor follows")


def _flattened(node: torch.fx.Node, value: Value, start_dim: int) -> Value:
    source = _shape(node.all_input_nodes[0])
    if start_dim != 1 or len(source) < 2:
        raise ConfigError(f"cannot compact: '{node.name}' flattens from dimension {start_dim}, not 1")
    spread = 1
    for size in source[2:]:
        spread *= int(size)
    return Value(value.space, value.repeat * spread)


def _is_tensor(node: torch.fx.Node) -> bool:
    meta = node.meta.get("tensor_meta")
    return meta is not None and hasattr(meta, "shape")


def _shape(node: torch.fx.Node) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        raise ConfigError(f"cannot compact: '{node.name}' is not a single tensor")
    return tuple(int(s) for s in meta.shape)


def _name(target: object) -> str:
    return getattr(target, "__name__", str(target))
