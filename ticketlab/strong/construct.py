"""Strong lottery tickets by construction: a random source network and a mask whose
masked forward pass approximates a trained target (seeds 000 and 001).

``construct(target, input_shape, construction=..., n=...)`` traces the target, draws the
random source network from ``seed`` (before looking at any target weight), and solves
one random subset-sum instance per target weight to choose the mask. With ``rescale``
> 0 (ReLU and leaky-ReLU targets) the target is first replaced by an equivalent one
whose layers sit where the candidates reach them best (:mod:`ticketlab.strong.rescale`);
errors are reported in the original target's coordinates. Constructions are
registered in ``CONSTRUCTIONS``:

- ``cunha``: every conv and linear layer becomes a 1x1 expansion with n copies per input
  channel (2n where the input can be negative) plus a k x k (or dense) layer (seed 000).
- ``pensia``: the same two-layer replacement for MLP targets (Pensia et al.), the simple case.
- ``burkholz-2l``: depth 2L: every layer becomes Burkholz's univariate layer (n copies with
  weights uniform in [-2, 2], n bias neurons) plus a full layer (seed 001).
- ``burkholz-l1``: depth L+1: one univariate layer, then every hidden channel kept as n
  copies; a target entry's candidates are the n weights from the copies of its input.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.masks import Mask
from ticketlab.registry import Registry
from ticketlab.seeding import generator
from ticketlab.strong.assemble import Assembly, Replacement, assemble, masked_copy
from ticketlab.strong.record import LayerApproximation
from ticketlab.strong.rescale import Rescaling, apply, balance
from ticketlab.strong.source import Draw
from ticketlab.strong.subset_sum import solve_subset_sum
from ticketlab.strong.target import Affine, Op, affine_layers, network_activation, trace_target
from ticketlab.strong.two_layer import approximate_two_layer


@dataclass
class Construction:
    """A random source network, the mask that makes it a ticket, and how it was found."""

    name: str
    target_ops: list[Op]
    source: nn.Sequential
    mask: Mask
    approximations: list[LayerApproximation] = field(default_factory=list)
    random_parameters: int = 0
    solve_seconds: float = 0.0
    # Per target op, the source channels that carry its output (burkholz-l1 keeps several
    # copies of every unit plus constants); empty or None: the activations coincide.
    readouts: list[Tensor | None] = field(default_factory=list)
    # The factors the target was rescaled by (the source's activation after top-level op k
    # is ``rescaling.after_op[k]`` times the target's); None: not rescaled.
    rescaling: Rescaling | None = None

    @property
    def ticket_nonzeros(self) -> int:
        """Weights the mask keeps in the random part of the source."""
        return sum(int(m.sum()) for m in self.mask.values())

    def ticket(self) -> nn.Module:
        """The source network with its pruned weights set to zero."""
        return masked_copy(self.source, self.mask)


@dataclass(frozen=True)
class Options:
    """Everything a construction needs besides the target."""

    n: int
    solve: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    draw: Draw
    replace: Callable[[Affine], bool]
    nonnegative_input: bool
    linear_scale: float


Builder = Callable[[list[Op], torch.Tensor, Options], Assembly]
CONSTRUCTIONS: Registry[Builder] = Registry("construction")


def construct(
    target: nn.Module,
    input_shape: tuple[int, int, int],
    *,
    construction: str = "cunha",
    n: int = 30,
    solver: str = "exact",
    eps: float | None = None,
    layers: str = "all",
    seed: int = 0,
    nonnegative_input: bool = False,
    linear_scale: float = 0.01,
    rescale: float = 0.4,
) -> Construction:
    """Approximate ``target`` (a trained model, used in eval mode) by a pruned random network.

    ``layers``: which target layers to approximate: all, conv, linear, or a comma list
    of layer names; the others keep their trained weights. ``nonnegative_input`` says
    the data is >= 0 (raw pixels), which halves the first layer's copies for ReLU.
    ``rescale``: put each approximated layer's largest weight at this many widths of its
    candidates' subset sums (0: build the target as trained; tanh targets always are).
    """
    builder = CONSTRUCTIONS.get(construction)
    if n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    if rescale < 0:
        raise ConfigError(f"--rescale must be >= 0 (0 turns it off), got {rescale}")
    ops = trace_target(target.eval())
    selection = _selection(layers, ops)
    example = torch.zeros(1, *input_shape, dtype=torch.float64)

    def options(solve: Callable[[Tensor, Tensor], Tensor]) -> Options:
        # A fresh generator from the same seed: every pass draws the same source network.
        return Options(n, solve, Draw(generator(seed, "source", construction, n)), selection, nonnegative_input,
                       linear_scale)

    started = time.perf_counter()
    rescaling = None
    built_ops = ops
    if rescale > 0 and network_activation(ops).piecewise_linear:
        weights, biases = _preferred(builder(ops, example, options(_greedy)).approximations, rescale)
        rescaling = balance(ops, weights, biases)
        built_ops = apply(ops, rescaling)
    assembly = builder(built_ops, example, options(_solver(solver, eps)))
    seconds = time.perf_counter() - started
    approximations = assembly.approximations
    if rescaling is not None:
        originals = {layer.name: layer for layer in affine_layers(ops)}
        approximations = [record.unscaled(originals[record.name].weight, originals[record.name].bias,
                                          rescaling.weight[record.name], rescaling.bias[record.name])
                          for record in approximations]
    return Construction(construction, ops, assembly.network, assembly.mask, approximations,
                        assembly.random_parameters, seconds, assembly.readouts, rescaling)


def _greedy(targets: Tensor, candidates: Tensor) -> Tensor:
    """Largest candidates first, each kept when it brings the sum closer: a rough subset in
    O(n) vector steps. The first pass only draws the source and records what candidates
    reach; this gives the values it carries forward (burkholz-l1's constants) their size."""
    count, n = candidates.shape
    order = candidates.abs().argsort(dim=1, descending=True)
    rows = torch.arange(count)
    sums = torch.zeros(count, dtype=candidates.dtype)
    mask = torch.zeros(candidates.shape, dtype=torch.bool)
    for j in range(n):
        value = candidates[rows, order[:, j]]
        better = (sums + value - targets).abs() < (sums - targets).abs()
        sums = torch.where(better, sums + value, sums)
        mask[rows, order[:, j]] = better
    return mask


def _preferred(records: list[LayerApproximation], rescale: float) -> tuple[dict[str, float], dict[str, float]]:
    """Per layer, the weight factor and the bias factor that put its largest |w| (resp. |b|)
    at ``rescale`` median widths of its candidates' subset sums."""
    weights: dict[str, float] = {}
    biases: dict[str, float] = {}
    for record in records:
        for target, reach, found in ((record.weight, record.weight_reach, weights),
                                     (record.bias, record.bias_reach, biases)):
            largest = 0.0 if target is None else float(target.abs().max())
            if not reach or largest == 0.0:
                continue
            width = float(torch.cat([r.width.flatten() for r in reach]).median())
            if width > 0.0:
                found[record.name] = rescale * width / largest
    return weights, biases


def _solver(name: str, eps: float | None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    def solve(targets: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return solve_subset_sum(targets, candidates, solver=name, eps=eps).mask

    return solve


def _selection(layers: str, ops: list[Op]) -> Callable[[Affine], bool]:
    names = {layer.name for layer in affine_layers(ops)}
    if layers == "all":
        return lambda layer: True
    if layers == "conv":
        return lambda layer: layer.is_conv
    if layers == "linear":
        return lambda layer: not layer.is_conv
    wanted = {name.strip() for name in layers.split(",") if name.strip()}
    unknown = sorted(wanted - names)
    if unknown:
        raise ConfigError(f"--layers: no layer named {', '.join(unknown)}; the layers are {', '.join(sorted(names))}")
    return lambda layer: layer.name in wanted


def _two_layer(style: str, mlp_only: bool = False) -> Builder:
    def build(ops: list[Op], example: torch.Tensor, options: Options) -> Assembly:
        activation = network_activation(ops)

        def approximate(layer: Affine, nonnegative: bool, x: torch.Tensor) -> Replacement:
            if mlp_only and layer.is_conv:
                raise ConfigError(f"the pensia construction is for MLP targets; {layer.name} is a convolution "
                                  "(use cunha or burkholz-2l)")
            return approximate_two_layer(
                layer, activation=activation, nonnegative_input=nonnegative, n=options.n, style=style,
                input_size=tuple(x.shape[-2:]) if layer.is_conv else None, draw=options.draw,
                solve=options.solve, linear_scale=options.linear_scale,
            )

        return assemble(ops, example, options.nonnegative_input, options.replace, approximate)

    return build


CONSTRUCTIONS.add("cunha", _two_layer("cunha"), "seed 000: each conv/linear layer -> 1x1 expansion (n copies per "
                  "input channel, 2n where the input can be negative) + k x k layer; relu, leaky-relu")
CONSTRUCTIONS.add("pensia", _two_layer("cunha", mlp_only=True),
                  "Pensia et al.: the same two-layer replacement, for MLP targets")
CONSTRUCTIONS.add("burkholz-2l", _two_layer("burkholz"), "seed 001, depth 2L: univariate layer (weights in [-2, 2], "
                  "n bias neurons) + full layer per target layer; relu, leaky-relu, tanh, sigmoid")


def _l_plus_one(ops: list[Op], example: torch.Tensor, options: Options) -> Assembly:
    from ticketlab.strong.l_plus_one import LPlusOne

    if not all(options.replace(layer) for layer in affine_layers(ops)):
        raise ConfigError("burkholz-l1 copies every hidden channel, so it approximates every layer (--layers all)")
    builder = LPlusOne(ops, example, options.n, options.draw, options.solve, network_activation(ops),
                       options.nonnegative_input, options.linear_scale)
    return builder.build()


CONSTRUCTIONS.add("burkholz-l1", _l_plus_one, "seed 001, depth L+1: one univariate layer, then n copies of every "
                  "hidden channel; residual blocks through the source's own skip connection")
