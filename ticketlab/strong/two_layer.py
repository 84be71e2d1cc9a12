"""One target layer approximated by two random layers and a mask (seeds 000 and 001).

The source replaces a target conv (O, C, k, k) by an *expand* 1x1 conv with R copies of
every input channel (plus constant channels for the bias), the activation, and a
*combine* k x k conv back to O channels (linear layers likewise, with dense layers). The
mask keeps, in the expand layer, the edge from channel i to each of its copies and, in
the combine layer, for every target entry (o, i, r, s) the subset of its copies' weights
whose products with the copies' gains sum closest to the entry (one subset-sum instance
per entry and part).

Parts: with a ReLU, relu(u x) = |u| relu(sign(u) x), so copies with u > 0 carry relu(x)
and copies with u < 0 carry relu(-x); w x = w relu(x) - w relu(-x) needs both parts when
x can be negative and only the first when it cannot. A leaky ReLU works the same way with
targets w / (1 + slope). tanh and sigmoid are linearised: phi(u x) ~ phi(0) + phi'(0) u x
for small u, so their expand weights are drawn at a small scale s (combine weights at 1/s)
and the remaining error is part of what the construction measures.

Biases come from constant channels (zero input weight, positive bias) through one kernel
tap that never reads padding (the centre tap for "same" convolutions), so border pixels
get the same bias as the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.strong.assemble import Replacement
from ticketlab.strong.record import LayerApproximation, Reach
from ticketlab.strong.source import Draw, conv_or_linear, fill
from ticketlab.strong.target import Activation, Affine, safe_tap

Solve = Callable[[Tensor, Tensor], Tensor]
# The expand layer is dense (fan-in x fan-in * n): a linear layer after a large feature map
# (cnn3's 18,432 inputs) would need billions of random weights. 2^28 float64 is 2 GiB.
MAX_SOURCE_ENTRIES = 2**28


@dataclass
class Part:
    """Copies that carry one input transform (relu(x), relu(-x), or linearised phi)."""

    copies: Tensor  # (C, m) expand-channel index per input channel, -1 = padding
    gains: Tensor  # (C, m) what a combine weight is multiplied by along that path
    scale: float  # the part approximates scale * w


def approximate_two_layer(
    layer: Affine,
    *,
    activation: Activation,
    nonnegative_input: bool,
    n: int,
    style: str,
    input_size: tuple[int, int] | None,
    draw: Draw,
    solve: Solve,
    linear_scale: float = 0.01,
) -> Replacement:
    """Build expand -> activation -> combine for ``layer``, choose its mask, record its estimates."""
    out_channels, in_channels = layer.weight.shape[:2]
    kernel = tuple(layer.weight.shape[2:])
    has_bias = layer.bias is not None
    copies, expand_weight, parts = _copies(activation, nonnegative_input, n, style, in_channels, draw, linear_scale)
    constants = n if has_bias else 0
    expanded = in_channels * copies + constants
    _check_source_size(layer.name, expanded * in_channels + out_channels * expanded * math.prod(kernel))
    # Constant channels read the input too in the random network; the mask prunes that.
    expand_weight = torch.cat([expand_weight, draw.uniform((constants, in_channels), -1.0, 1.0)])
    expand_bias = draw.uniform((expanded,), 0.0, 1.0)
    spread = 1.0 / linear_scale if not activation.piecewise_linear else 1.0
    combine_weight = draw.uniform((out_channels, expanded, *kernel), -spread, spread)

    expand = fill(conv_or_linear(in_channels, expanded, (1, 1) if kernel else (), bias=True), expand_weight, expand_bias)
    combine = fill(conv_or_linear(expanded, out_channels, kernel, bias=False, stride=layer.stride,
                                  padding=layer.padding, dilation=layer.dilation), combine_weight)
    modules = nn.Sequential(expand, activation.module(), combine)

    combine_mask = torch.zeros(combine_weight.shape, dtype=torch.bool)
    estimates: list[Tensor] = []
    reach: list[Reach] = []
    offsets = torch.zeros(out_channels, dtype=torch.float64)
    for part in parts:
        chosen, estimate, part_reach = _solve_part(layer.weight, combine_weight, part, solve)
        combine_mask |= chosen
        estimates.append(estimate)
        reach.append(part_reach)
        if activation.at_zero():
            offsets += _offsets(combine_weight, chosen, activation.at_zero())
    if activation.at_zero() and layer.is_conv and any(layer.padding):
        raise ConfigError(f"{layer.name}: a linearised {activation.name} meets zero padding, whose border "
                          "pixels lack phi(0); use a construction that keeps the activation exact here")
    bias_estimates: list[Tensor] = []
    bias_reach: list[Reach] = []
    if has_bias:
        assert layer.bias is not None
        tap = safe_tap(layer, input_size) if kernel else ()
        constant_values = activation(expand_bias[in_channels * copies:])
        candidates = combine_weight[(slice(None), slice(in_channels * copies, None), *tap)] * constant_values
        picked = solve(layer.bias - offsets, candidates)
        combine_mask[(slice(None), slice(in_channels * copies, None), *tap)] |= picked
        bias_estimates.append((candidates * picked).sum(dim=1) + offsets)
        bias_reach.append(Reach.of(candidates, torch.ones_like(picked), 1.0))
    used = combine_mask.flatten(2).any(dim=2) if kernel else combine_mask  # (O, E)
    used_channels = used.any(dim=0)
    expand_mask = torch.zeros(expanded, in_channels, dtype=torch.bool)
    channel_of = torch.arange(in_channels).repeat_interleave(copies)
    copy_rows = torch.arange(in_channels * copies)
    expand_mask[copy_rows, channel_of] = used_channels[: in_channels * copies]
    bias_mask = torch.zeros(expanded, dtype=torch.bool)
    bias_mask[in_channels * copies:] = used_channels[in_channels * copies:]
    mask = {"0.weight": expand_mask.view(expand.weight.shape), "0.bias": bias_mask, "2.weight": combine_mask}
    record = LayerApproximation(layer.name, layer.weight, layer.bias, estimates, bias_estimates, reach,
                                bias_reach)
    return Replacement(modules, mask, [record])


def _check_source_size(name: str, entries: int) -> None:
    """Refuse a random source layer pair too large to draw (it is dense, fan-in times n wide)."""
    if entries > MAX_SOURCE_ENTRIES:
        raise ConfigError(
            f"{name}: its random two-layer source would hold {entries:,} weights "
            f"({entries * 8 / 2**30:.1f} GiB in float64, limit {MAX_SOURCE_ENTRIES:,}); approximate fewer "
            "layers (--layers conv) or use --construction burkholz-l1, whose source is far smaller"
        )


def _copies(activation: Activation, nonnegative: bool, n: int, style: str, in_channels: int, draw: Draw,
            linear_scale: float) -> tuple[int, Tensor, list[Part]]:
    """(copies per input channel, the expand weights (E_copies + constants not included), parts)."""
    if not activation.piecewise_linear:
        if style == "cunha":
            raise ConfigError(f"the cunha construction is for ReLU networks, not {activation.name}")
        u = draw.uniform((in_channels, n), -linear_scale, linear_scale)
        gains = activation.slope_at_zero() * u
        index = torch.arange(in_channels * n).view(in_channels, n)
        return n, _expand_weights(u, in_channels, n, draw), [Part(index, gains, 1.0)]
    roles = [1.0] if nonnegative else [1.0, -1.0]
    slope = activation.negative_slope if activation.name == "leaky-relu" else 0.0
    divisor = 1.0 if (nonnegative or activation.name == "relu") else 1.0 + slope
    if style == "cunha":
        # n copies per role, their 1x1 weights of the role's sign: positive ones carry
        # relu(x), negative ones relu(-x).
        copies = n * len(roles)
        magnitude = draw.uniform((in_channels, copies), 0.0, 1.0)
        sign = torch.tensor(roles, dtype=torch.float64).repeat_interleave(n)
        u = magnitude * sign
    else:
        # Burkholz's univariate layer: weights uniform in [-2, 2]; their signs pick the role.
        copies = n
        u = draw.uniform((in_channels, copies), -2.0, 2.0)
    index = torch.arange(in_channels * copies).view(in_channels, copies)
    parts = []
    for role in roles:
        keep = (u > 0) if role > 0 else (u < 0)
        width = max(int(keep.sum(dim=1).max()), 1)
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :width]
        part_index = torch.where(keep.gather(1, order), index.gather(1, order), torch.full_like(order, -1))
        gains = torch.where(part_index >= 0, u.abs().gather(1, order), torch.zeros((), dtype=torch.float64))
        scale = role / divisor
        parts.append(Part(part_index, gains, scale))
    return copies, _expand_weights(u, in_channels, copies, draw), parts


def _expand_weights(u: Tensor, in_channels: int, copies: int, draw: Draw) -> Tensor:
    """(C * copies, C): copy (i, c) reads channel i with weight u[i, c]; other entries are
    drawn too (they exist in the random network) but the mask prunes them."""
    weights = draw.uniform((in_channels * copies, in_channels), -1.0, 1.0)
    rows = torch.arange(in_channels * copies)
    weights[rows, rows // copies] = u.flatten()
    return weights


def _solve_part(weight: Tensor, combine: Tensor, part: Part, solve: Solve) -> tuple[Tensor, Tensor, Reach]:
    """Subset sums for every entry of ``weight`` over this part's copies; (mask, estimate of w,
    what each entry's candidates could reach)."""
    out_channels, in_channels = weight.shape[:2]
    kernel = weight.shape[2:]
    index = part.copies.clamp(min=0)  # (C, m)
    # combine[o, index[i, c], k] for every (o, i, c, k), moved to (o, i, k, c).
    picked = combine[:, index.flatten()].view(out_channels, in_channels, index.shape[1], *kernel)
    picked = picked.movedim(2, -1)
    gains = part.gains.view(1, in_channels, *([1] * len(kernel)), -1)
    valid = (part.copies >= 0).view(1, in_channels, *([1] * len(kernel)), -1).expand_as(picked)
    candidates = picked * gains
    chosen = solve((weight * part.scale).flatten(), candidates.reshape(-1, index.shape[1])).view(candidates.shape)
    chosen &= valid
    estimate = (candidates * chosen).sum(dim=-1) / part.scale
    reach = Reach.of(candidates, valid, part.scale)
    mask = torch.zeros(combine.shape, dtype=torch.bool)
    # Scatter back: entry (o, i, k, c) is combine[o, index[i, c], k].
    target_index = index.view(1, in_channels, 1, -1).expand(out_channels, -1, math.prod(kernel), -1)
    flat_chosen = chosen.reshape(out_channels, in_channels, math.prod(kernel), -1)
    view = mask.view(out_channels, combine.shape[1], math.prod(kernel))
    o, i, k, c = flat_chosen.nonzero(as_tuple=True)
    view[o, target_index[o, i, k, c], k] = True
    return mask, estimate, reach


def _offsets(combine: Tensor, chosen: Tensor, at_zero: float) -> Tensor:
    """phi(0) times the chosen combine weights into each output: the linearised copies' constant."""
    return (combine * chosen).flatten(1).sum(dim=1) * at_zero
