"""A trained target network as a list of operations the constructions can rebuild.

``trace_target(model)`` flattens a ticketlab model (nested ``nn.Sequential``s, ResNet
basic blocks) into :class:`Affine` layers (conv or linear, in float64, with BatchNorm in
eval mode folded in), parameter-free :class:`Fixed` modules (activations, pools,
flatten) and :class:`Residual` blocks. ``run_ops`` evaluates such a list, so a test can
check that the trace computes exactly what the model computes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch.nn.functional as F
from torch import Tensor, nn

from ticketlab.errors import ConfigError

ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Flatten, nn.Identity)


@dataclass
class Affine:
    """A conv or linear layer: ``weight`` (O, C, *kernel) and ``bias`` (O,), float64."""

    name: str
    weight: Tensor
    bias: Tensor | None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    @property
    def is_conv(self) -> bool:
        return self.weight.dim() == 4

    def apply(self, x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None) -> Tensor:
        """The layer on ``x``, optionally with other weights (e.g. the approximations)."""
        weight = self.weight if weight is None else weight
        bias = self.bias if bias is None else bias
        if self.is_conv:
            return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation)
        return F.linear(x, weight, bias)


@dataclass
class Fixed:
    """A parameter-free module (activation, pool, flatten), used as is."""

    module: nn.Module

    @property
    def is_activation(self) -> bool:
        return isinstance(self.module, ACTIVATIONS)


@dataclass
class Residual:
    """``after(branch(x) + shortcut(x))``; an empty shortcut is the identity."""

    branch: list[Op]
    shortcut: list[Op] = field(default_factory=list)
    after: Fixed | None = None


Op = Affine | Fixed | Residual


def trace_target(model: nn.Module) -> list[Op]:
    """The operations of ``model`` (in eval mode), BatchNorm folded into the layer before it."""
    return _trace(model, "")


def _trace(module: nn.Module, prefix: str) -> list[Op]:
    if _is_basic_block(module):
        branch = _trace_sequence([("conv1", module.conv1), ("bn1", module.bn1), ("relu1", module.relu1),
                                  ("conv2", module.conv2), ("bn2", module.bn2)], prefix)
        shortcut = _trace(module.shortcut, f"{prefix}shortcut.")
        return [Residual(branch, shortcut, Fixed(copy.deepcopy(module.relu2)))]
    if isinstance(module, nn.Sequential):
        return _trace_sequence(list(module.named_children()), prefix)
    return _trace_sequence([("", module)], prefix.rstrip("."))


def _trace_sequence(children: Sequence[tuple[str, nn.Module]], prefix: str) -> list[Op]:
    ops: list[Op] = []
    for name, child in children:
        full = f"{prefix}{name}" if name else prefix
        if isinstance(child, nn.BatchNorm2d):
            if not ops or not isinstance(ops[-1], Affine):
                raise ConfigError(f"strong constructions need BatchNorm right after a conv layer ({full})")
            ops[-1] = _fold_batchnorm(ops[-1], child)
        elif isinstance(child, nn.Conv2d):
            if child.groups != 1:
                raise ConfigError(f"strong constructions do not support grouped convolutions ({full})")
            if child.padding_mode != "zeros" or isinstance(child.padding, str):
                raise ConfigError(f"strong constructions need numeric zero padding ({full})")
            ops.append(Affine(f"{full}", child.weight.detach().double().clone(), _bias(child), tuple(child.stride),
                              tuple(child.padding), tuple(child.dilation)))
        elif isinstance(child, nn.Linear):
            ops.append(Affine(f"{full}", child.weight.detach().double().clone(), _bias(child)))
        elif isinstance(child, ACTIVATIONS + POOLS):
            ops.append(Fixed(copy.deepcopy(child)))
        elif isinstance(child, nn.Sequential) or _is_basic_block(child):
            ops.extend(_trace(child, f"{full}."))
        else:
            raise ConfigError(f"strong constructions do not know how to rebuild {type(child).__name__} ({full})")
    return ops


def _is_basic_block(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("conv1", "bn1", "relu1", "conv2", "bn2", "shortcut", "relu2"))


def _bias(layer: nn.Conv2d | nn.Linear) -> Tensor | None:
    return None if layer.bias is None else layer.bias.detach().double().clone()


def _fold_batchnorm(layer: Affine, bn: nn.BatchNorm2d) -> Affine:
    """The conv followed by BN in eval mode, as one conv with a bias."""
    assert bn.running_mean is not None and bn.running_var is not None
    scale = bn.running_var.double().add(bn.eps).rsqrt()
    mean = bn.running_mean.double()
    if bn.affine:
        scale = scale * bn.weight.detach().double()
    shift = -mean * scale + (bn.bias.detach().double() if bn.affine else 0.0)
    weight = layer.weight * scale.view(-1, *([1] * (layer.weight.dim() - 1)))
    bias = shift if layer.bias is None else layer.bias * scale + shift
    return Affine(layer.name, weight, bias, layer.stride, layer.padding, layer.dilation)


def run_ops(ops: Sequence[Op], x: Tensor) -> Tensor:
    """Evaluate traced operations on ``x`` (float64)."""
    for op in ops:
        if isinstance(op, Affine):
            x = op.apply(x)
        elif isinstance(op, Fixed):
            x = op.module(x)
        else:
            summed = run_ops(op.branch, x) + run_ops(op.shortcut, x)
            x = op.after.module(summed) if op.after is not None else summed
    return x


def affine_layers(ops: Sequence[Op]) -> list[Affine]:
    """Every affine layer, in order, residual branches and shortcuts included."""
    found: list[Affine] = []
    for op in ops:
        if isinstance(op, Affine):
            found.append(op)
        elif isinstance(op, Residual):
            found += affine_layers(op.branch) + affine_layers(op.shortcut)
    return found


@dataclass(frozen=True)
class Activation:
    """What a construction needs to know about the network's activation function."""

    name: str
    negative_slope: float = 0.0

    @property
    def piecewise_linear(self) -> bool:
        """relu and leaky relu: phi(u x) = |u| phi(sign(u) x), so copies are exact."""
        return self.name in ("relu", "leaky-relu")

    def at_zero(self) -> float:
        return 0.5 if self.name == "sigmoid" else 0.0

    def slope_at_zero(self) -> float:
        return {"tanh": 1.0, "sigmoid": 0.25}.get(self.name, 1.0)

    def module(self) -> nn.Module:
        return {
            "relu": nn.ReLU(), "leaky-relu": nn.LeakyReLU(self.negative_slope), "tanh": nn.Tanh(),
            "sigmoid": nn.Sigmoid(),
        }[self.name]

    def __call__(self, x: Tensor) -> Tensor:
        return self.module()(x)


def network_activation(ops: Sequence[Op]) -> Activation:
    """The one activation function of the network (mixed activations are not supported)."""
    found = {_activation_of(op.module) for op in _all_fixed(ops) if op.is_activation}
    if not found:
        return Activation("relu")
    if len(found) > 1:
        raise ConfigError(f"strong constructions need one activation function, found {sorted(a.name for a in found)}")
    activation = found.pop()
    if activation.at_zero():
        # A linearised phi with phi(0) != 0 adds phi(0) times every chosen weight to its
        # output; these offsets grow with the fan-in and the 1/s weight scale far beyond
        # what n bias constants can cancel, so no construction here can build it.
        raise ConfigError(f"strong constructions support relu, leaky-relu and tanh, not {activation.name} "
                          "(phi(0) != 0 leaves offsets the bias constants cannot cancel)")
    return activation


def _all_fixed(ops: Sequence[Op]) -> list[Fixed]:
    found: list[Fixed] = []
    for op in ops:
        if isinstance(op, Fixed):
            found.append(op)
        elif isinstance(op, Residual):
            found += _all_fixed(op.branch) + _all_fixed(op.shortcut) + ([op.after] if op.after else [])
    return found


def _activation_of(module: nn.Module) -> Activation:
    if isinstance(module, nn.LeakyReLU):
        return Activation("leaky-relu", float(module.negative_slope))
    if isinstance(module, nn.Tanh):
        return Activation("tanh")
    if isinstance(module, nn.Sigmoid):
        return Activation("sigmoid")
    return Activation("relu")


def nonnegative_after(op: Op, was_nonnegative: bool) -> bool:
    """Whether the values after ``op`` are >= 0, given whether those before it were."""
    if isinstance(op, Fixed):
        module = op.module
        if isinstance(module, (nn.ReLU, nn.Sigmoid)):
            return True
        if isinstance(module, (nn.LeakyReLU, nn.Tanh)):
            return False
        return was_nonnegative  # pools, flatten, identity keep the sign
    if isinstance(op, Residual):
        return op.after is not None and nonnegative_after(op.after, False)
    return False


def safe_tap(layer: Affine, input_size: tuple[int, int]) -> tuple[int, int] | tuple[()]:
    """A kernel tap that reads a real input pixel (never padding) at every output position.

    Constants for biases must enter through such a tap: a constant channel is zero in the
    padding, so any other tap would give border pixels a different bias.
    """
    if not layer.is_conv:
        return ()
    taps = []
    for axis in (0, 1):
        size, k = input_size[axis], layer.weight.shape[2 + axis]
        s, p, d = layer.stride[axis], layer.padding[axis], layer.dilation[axis]
        out = math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1
        good = [r for r in range(k) if -p + r * d >= 0 and (out - 1) * s - p + r * d <= size - 1]
        if not good:
            raise ConfigError(f"{layer.name}: no kernel tap avoids the padding, so biases cannot be built exactly")
        taps.append(min(good, key=lambda r: abs(r - k // 2)))
    return (taps[0], taps[1])
