"""Sparsity types, kept apart from scores, quotas and methods (jaxpruner's "sparsity type").

A structure decides which entries of one layer may be kept together, given the layer's
scores (higher = kept), the entries still alive and a kept count:

- ``unstructured``: the ``count`` highest-scoring alive entries (the selection ticketlab
  always made; its draws and masks are unchanged).
- ``N:M`` (e.g. ``2:4``): N of every M consecutive weights along the input dimension: a Linear weight (out, in) is grouped along ``in`` for each output
  unit; a Conv weight (O, C, *kernel) along the input channels C for each (o, kernel
  position), as NVIDIA's 2:4 kernels group them. Every layer keeps the same fraction
  (the quota is not used). At density N/M each group keeps its N highest scores; at a
  higher density (a gradual schedule on its way there: GMP, IMP levels) each group keeps
  at least its N best alive entries and the rest of the count goes to the best of the
  others, so the masks stay nested and reach N:M exactly at N/M.
- ``channel``: whole output units (rows of a Linear weight, filters of a Conv) ranked by
  the sum of their alive entries' scores (the L1 norm for non-negative scores such as
  magnitude, as Li et al. 2017 rank filters); a layer keeps the number of whole units
  nearest to its quota count (at least one when the count is not 0). The classifier
  (the model's last Conv/Linear layer) keeps all its outputs, the classes: it is pruned
  unstructured at its count.

Ties break in a random order drawn from the generator, as in :mod:`ticketlab.pruning.select`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.pruning.quotas import layer_counts
from ticketlab.pruning.select import rank_alive, top_alive
from ticketlab.registry import Registry

Shapes = dict[str, torch.Size]
TOLERANCE = 1e-3  # a density within this of N/M is N/M (0.667 for 1:3)


def _keep(shape: torch.Size, index: Tensor) -> Tensor:
    flat = torch.zeros(math.prod(shape), dtype=torch.bool)
    flat[index] = True
    return flat.view(shape)


@dataclass(frozen=True)
class Structure:
    """Unstructured: any entries. Subclasses restrict which entries are kept together.

    ``spec``: the canonical ``--structure`` text. ``output``: the parameter name of the
    model's classifier weight, once bound to a model (:func:`structure_for`).
    """

    spec: str = "unstructured"
    output: str | None = None

    @property
    def fixed_density(self) -> float | None:
        """The density the structure fixes on every layer (N/M), or None."""
        return None

    @property
    def moves_single_weights(self) -> bool:
        """Whether a method that moves single weights (SET, RigL) keeps this structure."""
        return True

    def check(self, shapes: Shapes) -> None:
        """A one-line ConfigError when the structure cannot apply to these layers."""

    def _weights_only(self, shapes: Shapes) -> None:
        """A structured selection groups a weight's rows or inputs: no vectors (biases)."""
        for name, shape in shapes.items():
            if len(shape) < 2:
                raise ConfigError(f"--structure {self.spec} prunes weights only; {name} has shape {tuple(shape)}")

    def select(self, name: str, scores: Tensor, alive: Tensor, count: int, generator: torch.Generator) -> Tensor:
        """Layer ``name``'s mask: ``count`` alive entries (about, for channels), never a dead one."""
        return _keep(alive.shape, top_alive(scores, alive, count, generator))

    def layer_fields(self, name: str, mask: Tensor) -> dict[str, Any]:
        """What a per-layer report adds about the structure of ``mask`` (nothing when unstructured)."""
        return {}


@dataclass(frozen=True)
class NM(Structure):
    """N of every M consecutive weights along the input dimension."""

    n: int = 2
    m: int = 4

    @property
    def fixed_density(self) -> float:
        return self.n / self.m

    @property
    def moves_single_weights(self) -> bool:
        return False

    def check(self, shapes: Shapes) -> None:
        self._weights_only(shapes)
        for name, shape in shapes.items():
            if shape[1] % self.m:
                raise ConfigError(f"--structure {self.spec}: {name} has {shape[1]} inputs (dimension 1), not a "
                                  f"multiple of {self.m}; leave it out with --prunable")

    def counts(self, shapes: Shapes, density: float, caps: dict[str, int] | None = None) -> dict[str, int]:
        """Every layer at ``density`` (N/M exactly within the tolerance), at least N/M, at most its cap."""
        out = {}
        for name, shape in shapes.items():
            size = math.prod(shape)
            floor = size // self.m * self.n
            count = floor if density <= self.fixed_density + TOLERANCE else max(floor, round(density * size))
            out[name] = count if caps is None else min(count, int(caps[name]))
        return out

    def groups(self, tensor: Tensor) -> Tensor:
        """``tensor`` (O, C, *kernel) as rows of M: (O * kernel * C / M, M), input dimension last."""
        moved = tensor.movedim(1, -1)
        return moved.reshape(-1, self.m)

    def ungroup(self, grouped: Tensor, shape: torch.Size) -> Tensor:
        """The inverse of :meth:`groups`."""
        moved = (shape[0], *shape[2:], shape[1])
        return grouped.reshape(moved).movedim(-1, 1)

    def select(self, name: str, scores: Tensor, alive: Tensor, count: int, generator: torch.Generator) -> Tensor:
        values = torch.nan_to_num(scores.detach().cpu().double(), nan=-math.inf).masked_fill(~alive, -math.inf)
        grouped, live = self.groups(values), self.groups(alive)
        # Random tie order within each group: a stable sort of randomly permuted columns.
        shuffle = torch.rand(grouped.shape, generator=generator).argsort(dim=1)
        order = shuffle.gather(1, grouped.gather(1, shuffle).argsort(dim=1, descending=True, stable=True))
        best = torch.zeros_like(live)
        best.scatter_(1, order[:, : self.n], True)
        best &= live
        floor = self.ungroup(best, alive.shape)
        extra = count - int(floor.sum())
        if extra < 0:
            raise ValueError(f"{name}: {self.spec} keeps {int(floor.sum())} entries, more than {count}")
        rest = alive & ~floor
        return floor | _keep(alive.shape, top_alive(values, rest, extra, generator))

    def layer_fields(self, name: str, mask: Tensor) -> dict[str, Any]:
        """``groups`` of M and ``groups_n`` of them keeping exactly N."""
        if len(mask.shape) < 2 or mask.shape[1] % self.m:
            return {"structure": self.spec}
        kept = self.groups(mask.cpu()).sum(dim=1)
        return {"structure": self.spec, "groups": kept.numel(), "groups_n": int((kept == self.n).sum())}


@dataclass(frozen=True)
class Channel(Structure):
    """Whole output units, ranked by the sum of their alive entries' scores."""

    @property
    def moves_single_weights(self) -> bool:
        return False

    def check(self, shapes: Shapes) -> None:
        self._weights_only(shapes)
        if not [name for name in shapes if name != self.output]:
            raise ConfigError(f"--structure {self.spec} needs a prunable layer before the classifier "
                              f"({self.output}), whose outputs are the classes")

    def select(self, name: str, scores: Tensor, alive: Tensor, count: int, generator: torch.Generator) -> Tensor:
        if name == self.output:
            return super().select(name, scores, alive, count, generator)
        rows = alive.reshape(alive.shape[0], -1)
        values = torch.nan_to_num(scores.detach().cpu().double().reshape(rows.shape), nan=0.0)
        unit = values.masked_fill(~rows, 0.0).sum(dim=1).masked_fill(~rows.any(dim=1), -math.inf)
        order = rank_alive(unit, rows.any(dim=1), generator)
        kept = torch.cumsum(rows.sum(dim=1)[order], 0)
        units = int((kept - count).abs().argmin()) + 1 if count > 0 and order.numel() else 0
        chosen = torch.zeros(rows.shape[0], dtype=torch.bool)
        chosen[order[:units]] = True
        return (rows & chosen[:, None]).view(alive.shape)

    def layer_fields(self, name: str, mask: Tensor) -> dict[str, Any]:
        """``units`` (output units/channels) and ``units_kept`` (those with a kept weight)."""
        rows = mask.cpu().reshape(mask.shape[0], -1)
        return {"structure": "unstructured" if name == self.output else self.spec, "units": rows.shape[0],
                "units_kept": int(rows.any(dim=1).sum())}


def kept_counts(structure: Structure, quota: str, shapes: Shapes, density: float,
                scores: dict[str, Tensor] | None = None, *, caps: dict[str, int] | None = None) -> dict[str, int]:
    """Kept count per layer: the quota's (:func:`layer_counts`), or N:M's own (every layer alike)."""
    if isinstance(structure, NM):
        return structure.counts(shapes, density, caps)
    return layer_counts(quota, shapes, density, scores, caps=caps)


def _nm(text: str) -> NM:
    n, _, m = text.partition(":")
    try:
        found = NM(n=int(n), m=int(m))
    except ValueError:
        raise ConfigError(f"--structure must be unstructured, channel or N:M such as 2:4; got '{text}'") from None
    if not 0 < found.n < found.m:
        raise ConfigError(f"--structure N:M needs 0 < N < M, got '{text}'")
    return replace(found, spec=f"{found.n}:{found.m}")


# Name -> how a --structure value of that type is read (N:M is parametrised).
STRUCTURES: Registry[Callable[[str], Structure]] = Registry("sparsity structure")
STRUCTURES.add("unstructured", lambda text: Structure(), "any weights (the default)")
STRUCTURES.add("n:m", _nm, "N of every M consecutive weights along the input dimension (e.g. 2:4); fixes the "
               "sparsity at 1 - N/M")
STRUCTURES.add("channel", lambda text: Channel(spec="channel"), "whole output units/channels ranked by the sum of "
               "their scores; the classifier pruned unstructured")


def parse_structure(text: str) -> Structure:
    """The structure a ``--structure`` value names (``unstructured``, ``channel`` or ``N:M``)."""
    text = text.strip().lower()
    name = "n:m" if ":" in text else text
    return STRUCTURES.get(name)(text)


def classifier_weight(model: nn.Module) -> str | None:
    """The weight of the model's last Conv/Linear layer (its classifier), as the mask names it."""
    layers = [name for name, module in model.named_modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    return None if not layers else (f"{layers[-1]}.weight" if layers[-1] else "weight")


def structure_for(text: str, model: nn.Module, shapes: Shapes | None = None) -> Structure:
    """``text``'s structure bound to ``model``; with ``shapes`` (the mask's), checked against them."""
    found = replace(parse_structure(text), output=classifier_weight(model))
    if shapes is not None:
        found.check(shapes)
    return found


def check_structure_options(structure: str, sparsity: float, quota: str, default_quota: str) -> None:
    """The run-level rules of N:M: --sparsity is 1 - N/M, and no --quota (every layer keeps N/M)."""
    found = parse_structure(structure)
    if found.fixed_density is None:
        return
    if abs((1.0 - sparsity) - found.fixed_density) > TOLERANCE:
        raise ConfigError(f"--structure {found.spec} fixes the sparsity at {1.0 - found.fixed_density:g}: give "
                          f"--sparsity {1.0 - found.fixed_density:.6g}, got {sparsity}")
    if quota != default_quota:
        raise ConfigError(f"--structure {found.spec} keeps the same fraction of every layer; it takes no --quota")


def structured_rows(structure: Structure, mask: dict[str, Tensor], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-layer report rows (one per mask entry, in order) with the structure's fields added."""
    return [{**row, **structure.layer_fields(name, m)} for row, (name, m) in zip(rows, mask.items(), strict=True)]
