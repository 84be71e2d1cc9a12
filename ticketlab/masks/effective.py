"""Effective masks: the kept weights that still lie on some path from the input to the output.

A kept weight is **active** if some path from an input unit to an output unit runs through
it: a chain of kept (or unmasked) weights and parameter-free connections (skips, pooling
windows, activations). Kept weights that are not active are dead: removing them changes
nothing but the constant the network computes where the input cannot reach. Effective
sparsity (Vysogorets & Kempe, seed 003) counts pruned *and* dead weights as removed; it is
always >= the direct sparsity and is 1 when no input-output path remains.

The test is exact per entry: a convolution kernel entry is active only if, at some output
position, it multiplies a real pixel that the input reaches *and* that output position
reaches the network output. An entry that only ever multiplies zero padding is dead.

How it is computed (one forward and one backward pass, the model is never copied):
the network is linearised -- every Conv/Linear weight is replaced by its 0/1 mask (layers
or entries the mask does not cover count as ones) and its bias by zero, activations by the
identity, normalisation and dropout by the identity, max-pooling by a sum over the same
windows -- and fed an all-ones input of shape ``(1, *input_shape)``. A unit is then positive
iff the input reaches it, and the gradient of the summed output with respect to a unit is
positive iff it reaches the output; the gradient of a masked weight is their product summed
over positions, so a kept weight is active iff its gradient is positive. Values are
binarised after every weighted layer and activation (forward ``x > 0``, backward
``grad > 0``, straight through), so nothing overflows or underflows at any depth or density.

A kept **bias** (masks built with ``--prunable ...,biases``) is active iff its unit lies on an
input-output path: reached by the input and reaching the output (at some position, for a
conv channel). A bias of a unit the input cannot reach only feeds dead weights.

Architecture assumptions. The network must combine units only with the modules below and
with parameter-free operations that map non-negative inputs to non-negative outputs and
keep a sum of positive contributions positive (additions for skips, concatenation,
reshapes, average pooling, upsampling):

- ``nn.Conv1d/2d/3d`` and ``nn.Linear``: run with their mask as weight (any padding mode);
- activations (ReLU, sigmoid, tanh, GELU, ... as modules): replaced by the identity. The
  rule "a unit carries signal iff some input reaches it" needs activations that map 0 to 0;
  for sigmoid-like ones (sigmoid(0) = 1/2) the identity is what makes the rule right;
- BatchNorm/LayerNorm/GroupNorm/InstanceNorm and dropout: the identity (never run, so
  running statistics are untouched);
- max-pooling (``nn.MaxPool*d``, ``nn.AdaptiveMaxPool*d``): a sum over the same windows
  (max-pool's gradient would reach only one element of each window). Other max-like
  pools (fractional, LP) are not replaced.

Activations and max-pools written as functions inside ``forward`` are not replaced: ReLU-like
functions are harmless (they map 0 to 0 and the binarised values are >= 0), but a
functional sigmoid or max-pool gives a wrong answer. Any other module that owns parameters
(embeddings, transposed convs, attention, ...) raises :class:`ConfigError`.

During the call the affected modules get a temporary instance ``forward``; it is removed in
a ``finally`` block, so parameters, buffers (BatchNorm running statistics included),
train/eval mode, gradients and hooks come back exactly as they were. The model must not be
used by another thread during the call. Hooks the caller registered do run during the pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks.mask import Mask, check_mask, count_kept

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


class UnsupportedModelError(ConfigError):
    """The model has a module the linearised pass cannot analyse (runs then report no effective sparsity)."""

_ACTIVATIONS: tuple[type[nn.Module], ...] = tuple(
    getattr(nn, name)
    for name in (
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "CELU", "SELU", "GELU", "SiLU",
        "Mish", "Sigmoid", "Hardsigmoid", "Tanh", "Hardtanh", "Hardswish", "Softplus",
        "Softsign", "Tanhshrink", "LogSigmoid", "Hardshrink", "Softshrink", "Threshold",
    )
    if hasattr(nn, name)
)  # fmt: skip

_IDENTITIES: tuple[type[nn.Module], ...] = tuple(
    cls
    for cls in (
        nn.modules.batchnorm._BatchNorm,
        nn.modules.instancenorm._InstanceNorm,
        nn.GroupNorm,
        nn.LayerNorm,
        getattr(nn, "RMSNorm", None),
        nn.LocalResponseNorm,
        nn.modules.dropout._DropoutNd,
    )
    if cls is not None
)

_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_ADAPTIVE_MAX_POOLS = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)


@dataclass(frozen=True)
class EffectivePass:
    """What one linearised pass finds.

    ``mask``: the active kept entries, same keys, shapes and devices as the input mask.
    ``connected``: whether any output unit is reached from the input at all.
    """

    mask: Mask
    connected: bool


def effective_mask(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> Mask:
    """The kept entries of ``mask`` that lie on some input-output path of ``model``.

    ``input_shape`` is one example without the batch dimension, e.g. ``(3, 32, 32)``.
    Returns a new mask with the same keys; ``effective[n] <= mask[n]`` entrywise.
    Raises :class:`ConfigError` for a mask that does not fit the model, a mask entry that is
    not a Conv/Linear weight or bias, an unsupported module (:class:`UnsupportedModelError`),
    or an input shape the model cannot take.
    """
    return effective_pass(model, mask, input_shape).mask


def effective_counts(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(active, total) entries over the whole mask."""
    active, total = count_kept(effective_mask(model, mask, input_shape))
    return active, total


def effective_sparsity(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> float:
    """Fraction of the mask's entries that are pruned or dead (1.0 when nothing is active)."""
    active, total = effective_counts(model, mask, input_shape)
    return 1.0 - active / total if total else 0.0


def effective_pass(model: nn.Module, mask: Mask, input_shape: tuple[int, ...]) -> EffectivePass:
    """Run the linearised pass once: the active mask and whether the output is reached."""
    shape = _check_input_shape(input_shape)
    check_mask(model, mask)
    layers = _weighted_layers(model, mask)
    _reject_unsupported(model)
    with torch.inference_mode(False), torch.enable_grad():
        weights = {
            name: _substitute_weight(module, mask.get(f"{_prefix(name)}weight"))
            for name, module in layers.items()
        }
        outputs: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
        with _linearised(model, layers, weights, outputs):
            x = torch.ones((1, *shape), device=_device_of(model))
            try:
                result = model(x)
            except RuntimeError as exc:
                raise ConfigError(
                    f"the model cannot take inputs of shape {shape}: {_first_line(exc)}"
                ) from exc
        total = _sum_outputs(result)
        connected = bool(total.detach() > 0)
        return EffectivePass(_active(mask, layers, weights, outputs, total), connected)


def _active(
    mask: Mask,
    layers: dict[str, nn.Module],
    weights: dict[str, torch.Tensor],
    outputs: dict[str, list[torch.Tensor]],
    total: torch.Tensor,
) -> Mask:
    # Gradients are asked only for what decides an answer: masked weights, and the layer
    # outputs of kept biases (the unit must be reached and reach the output).
    wanted: list[tuple[str, str, torch.Tensor]] = []
    for layer in layers:
        prefix = _prefix(layer)
        if f"{prefix}weight" in mask:
            wanted.append((f"{prefix}weight", layer, weights[layer]))
        bias = mask.get(f"{prefix}bias")
        if bias is not None and bool(bias.any()):
            wanted.extend((f"{prefix}bias", layer, out) for out in outputs[layer])
    grads: list[torch.Tensor | None] = [None] * len(wanted)
    if wanted and total.requires_grad:
        grads = list(
            torch.autograd.grad(total, [t for _, _, t in wanted], allow_unused=True)
        )
    found: dict[str, torch.Tensor] = {}
    for (name, layer, tensor), grad in zip(wanted, grads):
        if grad is None:
            continue
        if name.endswith("weight"):
            # Gradients here are sums of non-negative terms: nonzero is positive (and
            # ``bool()`` is several times faster than ``> 0`` on large float tensors).
            found[name] = grad.bool()
        else:
            on_path = (tensor.detach() > 0) & (grad > 0)
            channel_dim = on_path.dim() - 1 if isinstance(layers[layer], nn.Linear) else 1
            per_unit = on_path.movedim(channel_dim, -1).reshape(-1, on_path.shape[channel_dim])
            found[name] = found.get(name, torch.zeros((), dtype=torch.bool)) | per_unit.any(0).cpu()
    out: Mask = {}
    for name, kept in mask.items():
        hit = found.get(name)
        if hit is None:
            out[name] = torch.zeros_like(kept)
        else:
            out[name] = hit.logical_and_(kept.to(hit.device)).to(kept.device)
    return out


def _substitute_weight(module: nn.Module, kept: torch.Tensor | None) -> torch.Tensor:
    device = module.weight.device
    if kept is None:
        # Not covered by the mask: every entry counts as kept; no gradient needed.
        return torch.ones(module.weight.shape, device=device)
    # Through uint8: bool -> float conversion is several times slower on CPU.
    return kept.view(torch.uint8).to(device=device, dtype=torch.float32).requires_grad_(True)


class _Binarise(torch.autograd.Function):
    """Forward ``x > 0``, backward ``grad > 0`` (straight through), as 0/1 floats."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).view(torch.uint8).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return (grad > 0).view(torch.uint8).to(grad.dtype)


def _binarise(x: torch.Tensor) -> torch.Tensor:
    return _Binarise.apply(x)  # type: ignore[no-any-return]


class _PatchedForwards:
    """Give modules a temporary instance ``forward``; the exit restores ``__dict__`` exactly."""

    def __init__(self, replacements: dict[nn.Module, Callable[..., Any]]) -> None:
        self.replacements = replacements
        self.saved: list[tuple[nn.Module, bool, Any]] = []

    def __enter__(self) -> None:
        for module, forward in self.replacements.items():
            had = "forward" in module.__dict__
            self.saved.append((module, had, module.__dict__.get("forward")))
            module.__dict__["forward"] = forward

    def __exit__(self, *exc: object) -> None:
        for module, had, old in reversed(self.saved):
            if had:
                module.__dict__["forward"] = old
            else:
                module.__dict__.pop("forward", None)
        self.saved.clear()


def _linearised(
    model: nn.Module,
    layers: dict[str, nn.Module],
    weights: dict[str, torch.Tensor],
    outputs: dict[str, list[torch.Tensor]],
) -> _PatchedForwards:
    by_module = {module: name for name, module in layers.items()}
    replacements: dict[nn.Module, Callable[..., Any]] = {}
    for module in _unique_modules(model):
        if module in by_module:
            name = by_module[module]
            replacements[module] = _weighted_forward(module, weights[name], outputs[name])
        elif isinstance(module, _ACTIVATIONS):
            replacements[module] = _binarise
        elif isinstance(module, _IDENTITIES):
            replacements[module] = _identity
        elif isinstance(module, _MAX_POOLS):
            replacements[module] = _window_sum(module)
        elif isinstance(module, _ADAPTIVE_MAX_POOLS):
            replacements[module] = _adaptive_window_sum(module)
    return _PatchedForwards(replacements)


def _weighted_forward(
    module: nn.Module, weight: torch.Tensor, outputs: list[torch.Tensor]
) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(module, nn.Linear):
        def forward(x: torch.Tensor) -> torch.Tensor:
            out = _binarise(F.linear(x, weight))
            outputs.append(out)
            return out
    else:
        conv = module._conv_forward  # handles every padding_mode

        def forward(x: torch.Tensor) -> torch.Tensor:
            out = _binarise(conv(x, weight, None))
            outputs.append(out)
            return out
    return forward


def _identity(x: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
    return x


def _window_sum(pool: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Average over max-pool's windows (positive iff some element is), same output shape."""
    if getattr(pool, "return_indices", False):
        raise UnsupportedModelError("effective_mask cannot linearise a max-pool that returns indices")
    dims = _pool_dims(pool, _MAX_POOLS)
    kernel = _tuple(pool.kernel_size, dims)
    stride = _tuple(pool.stride if pool.stride is not None else pool.kernel_size, dims)
    padding = _tuple(pool.padding, dims)
    dilation = _tuple(pool.dilation, dims)
    avg = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
    max_pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]

    def forward(x: torch.Tensor) -> torch.Tensor:
        if all(d == 1 for d in dilation):
            return avg(x, kernel, stride, padding, ceil_mode=pool.ceil_mode)
        # Dilated windows: a depthwise conv with a ones kernel, padded far enough on the
        # trailing side to cover ceil-mode windows, cut to max-pool's own output shape.
        with torch.no_grad():
            size = max_pool(x.detach(), kernel, stride, padding, dilation, pool.ceil_mode).shape
        pads: list[int] = []
        for axis in reversed(range(dims)):
            span = (size[-dims + axis] - 1) * stride[axis] + (kernel[axis] - 1) * dilation[axis] + 1
            extra = max(0, span - (x.shape[-dims + axis] + 2 * padding[axis]))
            pads += [padding[axis], padding[axis] + extra]
        channels = x.shape[-dims - 1]
        ones = x.new_ones((channels, 1, *kernel))
        flat = x.reshape(-1, channels, *x.shape[-dims:])
        out = conv(F.pad(flat, pads), ones, None, stride, 0, dilation, channels)
        out = out[(..., *(slice(0, s) for s in size[-dims:]))]
        return out.reshape(size)

    return forward


def _pool_dims(pool: nn.Module, kinds: tuple[type[nn.Module], ...]) -> int:
    for dims, cls in enumerate(kinds, start=1):
        if isinstance(pool, cls):
            return dims
    raise UnsupportedModelError(f"unsupported pooling module {type(pool).__name__}")


def _adaptive_window_sum(pool: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if getattr(pool, "return_indices", False):
        raise UnsupportedModelError("effective_mask cannot linearise a max-pool that returns indices")
    dims = _pool_dims(pool, _ADAPTIVE_MAX_POOLS)
    avg = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[dims - 1]
    return lambda x: avg(x, pool.output_size)


def _tuple(value: int | tuple[int, ...], dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * dims


def _weighted_layers(model: nn.Module, mask: Mask) -> dict[str, nn.Module]:
    """Every Conv/Linear module by name; checks that the mask covers only their weights/biases."""
    layers = {name: m for name, m in model.named_modules() if isinstance(m, _WEIGHTED)}
    allowed = {f"{_prefix(n)}{p}" for n in layers for p in ("weight", "bias")}
    for name in mask:
        if name not in allowed:
            raise ConfigError(
                f"mask entry '{name}' is not the weight or bias of a Conv or Linear layer; "
                "effective masks cover only those"
            )
    return layers


def _reject_unsupported(model: nn.Module) -> None:
    handled = (*_WEIGHTED, *_IDENTITIES, *_ACTIVATIONS)
    for name, module in model.named_modules():
        if isinstance(module, handled):
            continue
        own = [p for p, _ in module.named_parameters(recurse=False)]
        if own:
            raise UnsupportedModelError(
                f"effective_mask cannot linearise module '{name}' ({type(module).__name__}, "
                f"parameters {', '.join(own)}): only Conv/Linear weights, normalisation, "
                "activation, dropout and pooling modules are supported"
            )


def _unique_modules(model: nn.Module) -> Iterator[nn.Module]:
    seen: set[int] = set()
    for module in model.modules():
        if id(module) not in seen:
            seen.add(id(module))
            yield module


def _sum_outputs(result: object) -> torch.Tensor:
    tensors = list(_tensors(result))
    if not tensors:
        raise ConfigError("the model returned no tensor")
    return torch.stack([t.float().sum() for t in tensors]).sum()


def _tensors(value: object) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def _check_input_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ConfigError(f"input shape must be positive integers, e.g. (3, 32, 32); got {shape}")
    return shape


def _device_of(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _prefix(module_name: str) -> str:
    return f"{module_name}." if module_name else ""


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
