"""Burkholz's depth-(L+1) construction (seed 001): copies of every hidden channel.

The source starts with one univariate layer (2n copies of every input channel, weights
uniform in [-2, 2], plus n bias neurons). Every target layer then becomes one source
layer whose outputs are n copies of each target channel (one for the last layer), plus
n constant channels that carry the next layer's biases (each a subset sum of the
previous constants close to 1). A copy of output channel j reads
the copies of input channel i, so each target entry (j, i, k) has, for every copy of j,
n candidate weights -- those from the n copies of channel i -- and one subset-sum
instance. After the first layer the copies carry the target's activations themselves,
so the activation is applied exactly as in the target: tanh and sigmoid only need the
univariate layer to be near-linear. Residual blocks are built branch by branch and add
through the source network's own skip connection.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.strong.assemble import Assembly
from ticketlab.strong.record import LayerApproximation, Reach
from ticketlab.strong.source import Draw, SourceResidual, conv_or_linear, fill
from ticketlab.strong.target import (
    Activation,
    Affine,
    Fixed,
    Op,
    Residual,
    affine_layers,
    run_ops,
    safe_tap,
)
from ticketlab.strong.two_layer import Part, _copies


@dataclass
class Layout:
    """Where the copies of each target unit and the constants sit in the source activations.

    ``copies`` (units, m): source unit of every copy (-1: none), ``gains`` and ``scales``
    what a weight from it is multiplied by (1 once the copies are exact); ``parts`` more
    than one only after the univariate layer (relu(x) and relu(-x) copies).
    """

    parts: list[Part]
    constants: Tensor  # source indices of the constant units
    values: Tensor  # their values
    size: int  # units in the source activation (copies, constants and any unused ones)

    @staticmethod
    def canonical(units: int, copies: int, constants: int, values: Tensor) -> Layout:
        index = torch.arange(units * copies).view(units, copies)
        return Layout([Part(index, torch.ones(units, copies, dtype=torch.float64), 1.0)],
                      units * copies + torch.arange(constants), values, units * copies + constants)

    def readout(self) -> Tensor:
        """The source unit of the first copy of every target unit (where its value is read)."""
        if len(self.parts) != 1:
            raise ValueError("a layout with relu(x) and relu(-x) parts has no single copy per unit")
        return self.parts[0].copies[:, 0]

    def flattened(self, spatial: int) -> Layout:
        """The layout after ``nn.Flatten`` of (channels, H, W) with H * W = ``spatial``."""
        parts = []
        for part in self.parts:
            position = torch.arange(spatial)
            index = (part.copies[:, None, :] * spatial + position[None, :, None])
            index = torch.where(part.copies[:, None, :] >= 0, index, torch.full_like(index, -1))
            gains = part.gains[:, None, :].expand(-1, spatial, -1)
            parts.append(Part(index.reshape(-1, part.copies.shape[1]), gains.reshape(-1, part.copies.shape[1]),
                              part.scale))
        return Layout(parts, self.constants * spatial, self.values, self.size * spatial)


class LPlusOne:
    """Builds the source network of ``ops`` op by op, keeping track of the layout."""

    def __init__(self, ops: list[Op], example: Tensor, n: int, draw: Draw, solve, activation: Activation,
                 nonnegative_input: bool, linear_scale: float) -> None:
        self.ops, self.example, self.n, self.draw, self.solve = ops, example, n, draw, solve
        self.activation, self.nonnegative_input, self.linear_scale = activation, nonnegative_input, linear_scale
        self.last = affine_layers(ops)[-1]
        self.first_done = False
        self.approximations: list[LayerApproximation] = []

    def build(self) -> Assembly:
        readouts: list[Tensor | None] = []
        modules, mask, _, _ = self.sequence(self.ops, self.example, None, "", readouts)
        network = nn.Sequential(*modules)
        return Assembly(network, mask, self.approximations, sum(int(m.numel()) for m in mask.values()), readouts)

    def sequence(self, ops: list[Op], x: Tensor, layout: Layout | None, prefix: str,
                 readouts: list[Tensor | None] | None = None
                 ) -> tuple[list[nn.Module], dict[str, Tensor], Layout | None, Tensor]:
        modules: list[nn.Module] = []
        mask: dict[str, Tensor] = {}
        for op in ops:
            name = f"{prefix}{len(modules)}"
            if isinstance(op, Affine):
                if layout is None:  # the univariate layer goes right before the first layer
                    univariate, u_mask, layout = self.univariate(x)
                    modules += [univariate, self.activation.module()]
                    mask.update({f"{name}.{k}": v for k, v in u_mask.items()})
                    name = f"{prefix}{len(modules)}"
                layer, l_mask, layout = self.layer(op, x, layout)
                modules.append(layer)
                mask.update({f"{name}.{k}": v for k, v in l_mask.items()})
            elif isinstance(op, Fixed):
                modules.append(copy.deepcopy(op.module))
                if layout is not None:
                    layout = self.through_fixed(op, x, layout)
            else:
                if layout is None:
                    raise ConfigError("burkholz-l1 needs a layer before the first residual block")
                block, b_mask, layout = self.residual(op, x, layout, name)
                modules.append(block)
                mask.update(b_mask)
            with torch.no_grad():
                x = run_ops([op], x)
            if readouts is not None:
                readouts.append(None if layout is None else layout.readout())
        return modules, mask, layout, x

    def through_fixed(self, op: Fixed, x: Tensor, layout: Layout) -> Layout:
        if isinstance(op.module, nn.Flatten):
            return layout.flattened(math.prod(x.shape[2:]) if x.dim() > 2 else 1)
        if op.is_activation:
            return Layout(layout.parts, layout.constants, op.module(layout.values), layout.size)
        return layout  # pools keep channels, and a constant stays constant

    def univariate(self, x: Tensor) -> tuple[nn.Module, dict[str, Tensor], Layout]:
        """2n copies of every input unit (weights in [-2, 2]) and n bias neurons.

        (n for tanh and sigmoid, whose linearised copies form a single part.) With a
        piecewise-linear activation the copies split by sign into the relu(x) and
        relu(-x) parts, so 2n copies give
        each part of a first-layer instance about n candidates, as many as every later
        instance has. This matters more here than in the 2L construction: a copy's error
        reaches every copy downstream, amplified by the fan-in of each layer.
        """
        units, n = x.shape[1], self.n
        scale = 2.0 if self.activation.piecewise_linear else self.linear_scale
        per_unit = 2 * n if self.activation.piecewise_linear else n  # a linearised phi has one part
        copies, weights, parts = _copies(self.activation, self.nonnegative_input, per_unit, "burkholz", units,
                                         self.draw, scale)
        rows = units * copies + n
        weights = torch.cat([weights, self.draw.uniform((n, units), -1.0, 1.0)])
        bias = self.draw.uniform((rows,), 0.0, 1.0)
        conv = x.dim() == 4
        layer = fill(conv_or_linear(units, rows, (1, 1) if conv else (), bias=True), weights, bias)
        weight_mask = torch.zeros(rows, units, dtype=torch.bool)
        copy_rows = torch.arange(units * copies)
        weight_mask[copy_rows, copy_rows // copies] = True
        bias_mask = torch.zeros(rows, dtype=torch.bool)
        bias_mask[units * copies:] = True
        constants = units * copies + torch.arange(n)
        layout = Layout(parts, constants, self.activation(bias[units * copies:]), rows)
        return layer, {"weight": weight_mask.view(layer.weight.shape), "bias": bias_mask}, layout

    def layer(self, op: Affine, x: Tensor, layout: Layout, zero_constants: bool = False
              ) -> tuple[nn.Module, dict[str, Tensor], Layout]:
        """One target layer: n copies of every output unit (1 for the last) and n constants."""
        n = self.n
        last = op is self.last
        out_copies = 1 if last else n
        constants_out = 0 if last else n
        out_units, in_units = op.weight.shape[:2]
        kernel = tuple(op.weight.shape[2:])
        source_in = layout.size
        rows = out_units * out_copies + constants_out
        linearised = not self.first_done and not self.activation.piecewise_linear
        spread = 1.0 / self.linear_scale if linearised else 1.0
        weights = self.draw.uniform((rows, source_in, *kernel), -spread, spread)
        layer = fill(conv_or_linear(source_in, rows, kernel, bias=False, stride=op.stride, padding=op.padding,
                                    dilation=op.dilation), weights)
        mask = torch.zeros(weights.shape, dtype=torch.bool)
        weight_estimates: list[Tensor] = []
        weight_reach: list[Reach] = []
        offsets = torch.zeros(out_units, out_copies, dtype=torch.float64)
        for part in layout.parts:
            chosen, estimate, reach = self.solve_part(op.weight, weights, part, out_copies)
            mask |= chosen
            weight_estimates += estimate.unbind(1)  # (out, copies, in, ...): one estimate per output copy
            weight_reach += reach.unbind(1)
            if linearised and self.activation.at_zero():
                picked = (weights * chosen)[: out_units * out_copies].flatten(1).sum(dim=1)
                offsets += picked.view(out_units, out_copies) * self.activation.at_zero()
        if linearised and self.activation.at_zero() and op.is_conv and any(op.padding):
            raise ConfigError(f"{op.name}: a linearised {self.activation.name} meets zero padding in the first layer")
        tap = safe_tap(op, tuple(x.shape[-2:])) if kernel else ()
        bias_estimates: list[Tensor] = []
        bias_reach: list[Reach] = []
        if op.bias is not None:
            candidates = weights[(slice(0, out_units * out_copies), layout.constants, *tap)] * layout.values
            targets = (op.bias[:, None] - offsets).flatten()
            picked = self.solve(targets, candidates)
            mask[(slice(0, out_units * out_copies), layout.constants, *tap)] |= picked
            sums = (candidates * picked).sum(dim=1).view(out_units, out_copies)
            bias_estimates += (sums + offsets).unbind(1)
            per_copy = candidates.view(out_units, out_copies, -1)
            bias_reach += Reach.of(per_copy, torch.ones_like(per_copy, dtype=torch.bool), 1.0).unbind(1)
        values = torch.zeros(constants_out, dtype=torch.float64)
        if constants_out and not zero_constants:
            values = self.carry_constants(weights, mask, layout, out_units * out_copies, tap)
        self.first_done = True
        self.approximations.append(LayerApproximation(op.name, op.weight, op.bias, weight_estimates, bias_estimates,
                                                      weight_reach, bias_reach))
        new_layout = Layout.canonical(out_units, out_copies, constants_out, values)
        return layer, {"weight": mask}, new_layout

    def solve_part(self, weight: Tensor, source: Tensor, part: Part, out_copies: int
                   ) -> tuple[Tensor, Tensor, Reach]:
        """Instances for every (output copy, entry): candidates from this part's input copies."""
        out_units, in_units = weight.shape[:2]
        kernel = weight.shape[2:]
        m = part.copies.shape[1]
        index = part.copies.clamp(min=0)
        rows = source[: out_units * out_copies].view(out_units, out_copies, *source.shape[1:])
        picked = rows[:, :, index.flatten()].view(out_units, out_copies, in_units, m, *kernel).movedim(3, -1)
        shape = (1, 1, in_units, *([1] * len(kernel)), m)
        candidates = picked * part.gains.view(shape)
        valid = (part.copies >= 0).view(shape).expand_as(candidates)
        targets = (weight * part.scale).unsqueeze(1).expand(-1, out_copies, *weight.shape[1:])
        chosen = self.solve(targets.flatten(), candidates.reshape(-1, m)).view(candidates.shape) & valid
        estimate = (candidates * chosen).sum(dim=-1) / part.scale
        reach = Reach.of(candidates, valid, part.scale)  # (out, copies, in, ...)
        mask = torch.zeros(source.shape, dtype=torch.bool)
        view = mask[: out_units * out_copies].view(out_units, out_copies, source.shape[1], math.prod(kernel))
        flat = chosen.reshape(out_units, out_copies, in_units, math.prod(kernel), m)
        j, c, i, k, q = flat.nonzero(as_tuple=True)
        view[j, c, index[i, q], k] = True
        return mask, estimate, reach

    def carry_constants(self, weights: Tensor, mask: Tensor, layout: Layout, first_row: int,
                        tap: tuple[int, ...]) -> Tensor:
        """Every output constant unit sums a subset of the input constants to about 1.

        Keeping constants near 1 (rather than carrying one edge, whose value shrinks layer
        by layer) keeps the next layer's bias instances as easy as the first one's.
        """
        count = layout.constants.numel()
        rows = slice(first_row, first_row + count)
        candidates = weights[(rows, layout.constants, *tap)] * layout.values
        picked = self.solve(torch.ones(count, dtype=torch.float64), candidates)
        mask[(rows, layout.constants, *tap)] |= picked
        return (candidates * picked).sum(dim=1)

    def residual(self, op: Residual, x: Tensor, layout: Layout, name: str
                 ) -> tuple[nn.Module, dict[str, Tensor], Layout]:
        """A residual block: branch and shortcut built alike, added by the source's own skip."""
        mask: dict[str, Tensor] = {}
        branch_modules, branch_mask, branch_layout, _ = self.branch(op.branch, x, layout, f"{name}.branch.")
        mask.update(branch_mask)
        if op.shortcut:
            short_modules, short_mask, short_layout, _ = self.sequence(op.shortcut, x, layout, f"{name}.shortcut.")
            mask.update(short_mask)
        else:
            short_modules, short_layout = [], layout
        assert branch_layout is not None and short_layout is not None
        if not torch.equal(branch_layout.parts[0].copies, short_layout.parts[0].copies):
            raise ConfigError(f"burkholz-l1: the skip of block {name} does not line up copies")
        summed = branch_layout.values + short_layout.values
        after = copy.deepcopy(op.after.module) if op.after is not None else nn.Identity()
        values = after(summed)
        block = SourceResidual(nn.Sequential(*branch_modules), nn.Sequential(*short_modules), after)
        return block, mask, Layout(branch_layout.parts, branch_layout.constants, values, branch_layout.size)

    def branch(self, ops: list[Op], x: Tensor, layout: Layout, prefix: str):
        """A residual branch; its last layer's constants are left at zero so that the skip's
        constants pass through the sum unchanged."""
        modules: list[nn.Module] = []
        mask: dict[str, Tensor] = {}
        final = max(i for i, op in enumerate(ops) if isinstance(op, Affine))
        for index, op in enumerate(ops):
            name = f"{prefix}{len(modules)}"
            if isinstance(op, Affine):
                layer, l_mask, layout = self.layer(op, x, layout, zero_constants=index == final)
                modules.append(layer)
                mask.update({f"{name}.{k}": v for k, v in l_mask.items()})
            elif isinstance(op, Fixed):
                modules.append(copy.deepcopy(op.module))
                layout = self.through_fixed(op, x, layout)
            else:
                raise ConfigError("burkholz-l1 does not support residual blocks inside residual branches")
            with torch.no_grad():
                x = run_ops([op], x)
        return modules, mask, layout, x
