"""The sparse inference form of a pruned network: Linear and Conv2d layers that keep only their nonzeros.

:func:`sparsify` turns a dense module whose pruned weights are exactly zero into a copy
whose chosen layers are :class:`SparseLinear` / :class:`SparseConv2d` (CSR buffers,
sparse kernels, float32 CPU inference), and reports the choice made for every layer.
:func:`sparse_layer_specs` and :func:`rebuild_sparse_layers` re-create such a module from
a freshly built dense one without pickled code: rebuild, then ``load_state_dict``.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from ticketlab.export.modules import replace_module
from ticketlab.export.sparse_layers import (
    FusedSequentialMixin,
    SparseConv2d,
    SparseLinear,
    check_input,
    fuse_sequentials,
)

__all__ = [
    "FusedSequentialMixin",
    "SparseConv2d",
    "SparseLayerChoice",
    "SparseLinear",
    "Sparsified",
    "nonzero_parameters",
    "rebuild_sparse_layers",
    "replace_module",
    "sparse_layer_specs",
    "sparsify",
]

POLICIES = ("auto", "all", "none")
_KINDS: dict[type, str] = {nn.Linear: "linear", nn.Conv2d: "conv2d"}


@dataclass(frozen=True)
class SparseLayerChoice:
    """The form chosen for one Linear/Conv2d layer, and why."""

    name: str  # module path, e.g. "fc1" or "layer1.0.conv1"
    kind: str  # "linear" | "conv2d"
    density: float  # nonzero fraction of the weight
    form: str  # "sparse" or "dense"
    reason: str  # e.g. "sparse 0.21 ms < dense 0.80 ms at batch 256", "policy all", "density 0.6 > 0.3"
    dense_ms: float | None  # timings when measured (policy auto), else None
    sparse_ms: float | None


@dataclass
class Sparsified:
    """A deep copy of the input with the chosen layers replaced (eval mode), and the choice per layer."""

    module: nn.Module
    layers: list[SparseLayerChoice]


def _check_policy(policy: str | float) -> None:
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise ValueError(f"unknown sparse policy {policy!r}; choose from {', '.join(POLICIES)} or a density")
    elif isinstance(policy, bool) or not isinstance(policy, (int, float)) or not 0 < policy <= 1:
        raise ValueError(f"a density policy must be a number in (0, 1]; got {policy!r}")


def _to_sparse(layer: nn.Module) -> SparseLinear | SparseConv2d:
    return SparseLinear.from_dense(layer) if isinstance(layer, nn.Linear) else SparseConv2d.from_dense(layer)


def _median_ms(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, repeats: int) -> float:
    """Median wall time of ``fn(x)`` in ms over ``repeats`` runs, after one warm-up run."""
    with torch.no_grad():
        fn(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _run(module: nn.Module, example: torch.Tensor) -> None:
    try:
        with torch.no_grad():
            module(example)
    except Exception as error:  # e.g. a parent module reading a replaced layer's .weight
        raise RuntimeError(f"the sparse form of the model does not run on the example: {error}") from error


def _trial_inputs(module: nn.Module, example: torch.Tensor, targets: list[tuple[str, nn.Module]],
                  candidates: dict[int, nn.Module | str]) -> dict[int, torch.Tensor]:
    """The first input each layer sees (by the dense layer's id) in one forward pass with every supported layer
    sparse. Sparse layers hand on their output column-major (transposed), a layout that makes the next sparse
    layer about twice as fast and a dense Linear slower, so the timings should see it."""
    running: dict[int, nn.Module] = {}
    dense_of: dict[int, int] = {}
    for name, layer in targets:
        candidate = candidates[id(layer)]
        runs = candidate if isinstance(candidate, nn.Module) else layer
        running[id(runs)], dense_of[id(runs)] = runs, id(layer)
        replace_module(module, name, runs)
    inputs: dict[int, torch.Tensor] = {}

    def hook(layer: nn.Module, args: tuple[Any, ...]) -> None:
        if args and isinstance(args[0], torch.Tensor):
            inputs.setdefault(dense_of[id(layer)], args[0].detach().clone())

    handles = [layer.register_forward_pre_hook(hook) for layer in running.values()]
    try:
        _run(module, example)
    finally:
        for handle in handles:
            handle.remove()
        for name, layer in targets:
            replace_module(module, name, layer)
    return inputs


def _choose(name: str, layer: nn.Module, candidate: nn.Module | str, policy: str | float,
            x: torch.Tensor | None, repeats: int) -> tuple[SparseLayerChoice, nn.Module | None]:
    """The choice for one dense layer given its sparse candidate (or why it has none), and the layer to use
    in its place (None: it stays dense)."""
    weight = layer.weight.detach()
    density = float(torch.count_nonzero(weight)) / max(weight.numel(), 1)

    def choice(form: str, reason: str, dense_ms: float | None = None,
               sparse_ms: float | None = None) -> SparseLayerChoice:
        return SparseLayerChoice(name, _KINDS[type(layer)], density, form, reason, dense_ms, sparse_ms)

    if policy == "none":
        return choice("dense", "policy none"), None
    if not isinstance(policy, str) and density > policy:
        return choice("dense", f"density {density:.3g} > {policy:g}"), None
    if isinstance(candidate, str):
        return choice("dense", candidate), None
    if policy == "all":
        return choice("sparse", "policy all"), candidate
    if not isinstance(policy, str):
        return choice("sparse", f"density {density:.3g} <= {policy:g}"), candidate
    if x is None:
        return choice("dense", "not run by the example"), None
    dense_ms, sparse_ms = _median_ms(layer, x, repeats), _median_ms(candidate, x, repeats)
    batch = x.shape[0] if x.dim() > 1 else 1
    if sparse_ms < dense_ms:
        return choice("sparse", f"sparse {sparse_ms:.3f} ms < dense {dense_ms:.3f} ms at batch {batch}",
                      dense_ms, sparse_ms), candidate
    return choice("dense", f"dense {dense_ms:.3f} ms <= sparse {sparse_ms:.3f} ms at batch {batch}",
                  dense_ms, sparse_ms), None


def _candidate(layer: nn.Module) -> nn.Module | str:
    """``layer``'s sparse form, or the reason it has none."""
    try:
        return _to_sparse(layer).eval()
    except ValueError as error:
        return f"unsupported: {error}"


def sparsify(model: nn.Module, example: torch.Tensor, *, policy: str | float = "auto",
             repeats: int = 20) -> Sparsified:
    """A copy of ``model`` (eval mode) whose Linear/Conv2d layers run sparse where ``policy`` says.

    ``policy``: "auto" times each layer dense and sparse (median of ``repeats`` runs) on
    the input it sees in one forward pass on ``example`` with every supported layer
    sparse, and keeps the faster; "all" makes every supported layer sparse, "none" none;
    a float d in (0, 1] makes a layer sparse iff its density is at most d. Layers the
    sparse forms cannot express (grouped or non-zero-padded convolutions, non-float32
    weights) stay dense, reason "unsupported: ...". Only exact ``nn.Linear`` /
    ``nn.Conv2d`` modules are considered (not subclasses, whose owners may read their
    ``weight``). Fusable Sequentials get the batch-1 fast path
    (:func:`~ticketlab.export.sparse_layers.fuse_sequentials`). ``model`` is not modified.
    """
    _check_policy(policy)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}")
    check_input(example, "sparsify")
    module = copy.deepcopy(model).eval()
    targets = [(name, m) for name, m in module.named_modules(remove_duplicate=False) if type(m) in _KINDS]
    candidates = {} if policy == "none" else {id(m): _candidate(m) for _, m in targets}
    inputs = _trial_inputs(module, example, targets, candidates) if policy == "auto" else {}
    made: dict[int, tuple[SparseLayerChoice, nn.Module | None]] = {}
    layers = []
    for name, layer in targets:
        if id(layer) not in made:  # a layer registered at several paths is decided (and replaced) once
            made[id(layer)] = _choose(name, layer, candidates.get(id(layer), ""), policy, inputs.get(id(layer)),
                                      repeats)
        choice, sparse = made[id(layer)]
        layers.append(replace(choice, name=name))
        if sparse is not None:
            replace_module(module, name, sparse)
    fuse_sequentials(module)
    _run(module, example)
    return Sparsified(module, layers)


def _pair(value: tuple[int, ...]) -> list[int]:
    return [int(v) for v in value]


def sparse_layer_specs(module: nn.Module) -> dict[str, dict[str, Any]]:
    """For each sparse layer's path, the JSON-able arguments that rebuild it empty (see :func:`rebuild_sparse_layers`)."""
    specs: dict[str, dict[str, Any]] = {}
    for name, m in module.named_modules(remove_duplicate=False):
        if isinstance(m, SparseLinear):
            specs[name] = {"type": "SparseLinear", "in_features": m.in_features, "out_features": m.out_features,
                           "nnz": m.nnz, "bias": m.bias is not None}
        elif isinstance(m, SparseConv2d):
            specs[name] = {"type": "SparseConv2d", "in_channels": m.in_channels, "out_channels": m.out_channels,
                           "kernel_size": _pair(m.kernel_size), "stride": _pair(m.stride),
                           "padding": _pair(m.padding), "dilation": _pair(m.dilation), "nnz": m.nnz,
                           "bias": m.bias is not None}
    return specs


def _empty_layer(path: str, spec: dict[str, Any], dense: nn.Module) -> nn.Module:
    """The empty sparse layer ``spec`` describes, checked against the dense layer it replaces."""
    kind, nnz, bias = spec.get("type"), int(spec["nnz"]), bool(spec["bias"])
    if kind == "SparseLinear":
        layer: SparseLinear | SparseConv2d = SparseLinear(int(spec["in_features"]), int(spec["out_features"]),
                                                          nnz, bias)
        size = (layer.in_features, layer.out_features)
        fits = isinstance(dense, nn.Linear) and (dense.in_features, dense.out_features) == size
    elif kind == "SparseConv2d":
        pairs = [tuple(int(v) for v in spec[key]) for key in ("kernel_size", "stride", "padding", "dilation")]
        layer = SparseConv2d(int(spec["in_channels"]), int(spec["out_channels"]), *pairs, nnz=nnz, bias=bias)
        size = (layer.in_channels, layer.out_channels, layer.kernel_size)
        fits = isinstance(dense, nn.Conv2d) and (dense.in_channels, dense.out_channels, dense.kernel_size) == size
    else:
        raise ValueError(f"sparse layer {path!r}: unknown type {kind!r}")
    if not fits:
        raise ValueError(f"sparse layer {path!r} ({kind} {size}) does not fit the model's {dense} there")
    return layer


def rebuild_sparse_layers(module: nn.Module, specs: dict[str, dict[str, Any]]) -> None:
    """Replace, in place, the dense layers at the paths of ``specs`` by empty sparse layers of those sizes.

    ``module`` is a freshly built dense model of the exported architecture; afterwards
    ``module.load_state_dict(sparse_state_dict)`` restores the sparse export. Fusable
    Sequentials get the batch-1 fast path, as in :func:`sparsify`.
    """
    for path, spec in specs.items():
        replace_module(module, path, _empty_layer(path, spec, module.get_submodule(path)))
    fuse_sequentials(module)


def nonzero_parameters(module: nn.Module) -> int:
    """The weights and biases ``module`` stores: nonzero entries of every parameter, plus, per sparse layer,
    its stored CSR values (all counted) and its bias's nonzero entries. Index buffers and statistics
    buffers (BatchNorm's running mean/variance) are not counted; shared tensors count once."""
    total = sum(int(torch.count_nonzero(p)) for p in module.parameters())
    for m in module.modules():
        if isinstance(m, (SparseLinear, SparseConv2d)):
            total += m.nnz + (int(torch.count_nonzero(m.bias)) if m.bias is not None else 0)
    return total
