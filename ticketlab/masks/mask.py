"""Masks: a bool tensor per prunable parameter name, and what can be said about one.

A mask is a plain ``dict[str, torch.Tensor]`` (bool, same shape as the parameter),
ordered like ``model.named_parameters()``. ``True`` means kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks.config import PrunableSpec

Mask = dict[str, torch.Tensor]

_LAYER_TYPES = {"conv": nn.Conv2d, "linear": nn.Linear}


def prunable_parameters(model: nn.Module, spec: PrunableSpec | None = None) -> dict[str, nn.Parameter]:
    """The parameters that ``spec`` makes prunable, by name, in model order.

    Layers are the Conv2d/Linear modules in ``named_modules()`` order, which ticketlab
    models keep equal to forward order: "first" reads the input, "last" is the classifier
    (of the whole model, whatever the spec's module-name patterns select).
    """
    spec = spec or PrunableSpec()
    tokens = spec.tokens
    all_layers = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    if not all_layers:
        raise ConfigError("the model has no Conv2d or Linear layer to prune")
    first, last = all_layers[0][0], all_layers[-1][0]
    wanted = tuple(_LAYER_TYPES[t] for t in ("conv", "linear") if t in tokens)
    found: dict[str, nn.Parameter] = {}
    for name, module in all_layers:
        if not isinstance(module, wanted):
            continue
        if ("no-first" in tokens and name == first) or ("no-last" in tokens and name == last):
            continue
        if not spec.selects(name):
            continue
        prefix = f"{name}." if name else ""
        found[prefix + "weight"] = module.weight
        if "biases" in tokens and module.bias is not None:
            found[prefix + "bias"] = module.bias
    if not found:
        raise ConfigError(f"--prunable {spec.prunable} leaves no parameter to prune in this model")
    return found


def full_mask(model: nn.Module, spec: PrunableSpec | None = None) -> Mask:
    """A mask that keeps every prunable weight."""
    return {
        name: torch.ones_like(p, dtype=torch.bool, device="cpu")
        for name, p in prunable_parameters(model, spec).items()
    }


def check_mask(model: nn.Module, mask: Mask) -> None:
    """Raise a :class:`ConfigError` unless every entry names a parameter of that shape."""
    params = dict(model.named_parameters())
    for name, m in mask.items():
        if name not in params:
            raise ConfigError(f"mask entry '{name}' is not a parameter of the model")
        if tuple(m.shape) != tuple(params[name].shape):
            raise ConfigError(
                f"mask entry '{name}' has shape {tuple(m.shape)}, the parameter {tuple(params[name].shape)}"
            )
        if m.dtype != torch.bool:
            raise ConfigError(f"mask entry '{name}' must be bool, got {m.dtype}")


@torch.no_grad()
def apply_mask(model: nn.Module, mask: Mask) -> None:
    """Set the pruned entries of the model's parameters to exactly zero, in place."""
    check_mask(model, mask)
    params = dict(model.named_parameters())
    for name, m in mask.items():
        params[name].mul_(m.to(params[name].device, params[name].dtype))


def count_kept(mask: Mask) -> tuple[int, int]:
    """(kept, total) over all entries of the mask."""
    kept = sum(int(m.sum()) for m in mask.values())
    total = sum(m.numel() for m in mask.values())
    return kept, total


def density(mask: Mask) -> float:
    """Fraction of prunable weights kept."""
    kept, total = count_kept(mask)
    return kept / total if total else 1.0


def sparsity(mask: Mask) -> float:
    """Fraction of prunable weights removed (1 - density)."""
    return 1.0 - density(mask)


@dataclass(frozen=True)
class LayerStats:
    """One row of a mask's per-layer report."""

    name: str
    shape: tuple[int, ...]
    kept: int
    total: int

    @property
    def density(self) -> float:
        return self.kept / self.total if self.total else 1.0

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "kept": self.kept,
            "total": self.total,
            "density": self.density,
        }


def layer_report(mask: Mask) -> list[LayerStats]:
    """Per-layer kept and total counts, in mask order."""
    return [LayerStats(n, tuple(m.shape), int(m.sum()), m.numel()) for n, m in mask.items()]
