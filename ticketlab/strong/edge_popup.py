"""edge-popup (Ramanujan et al., 2020): find a subnetwork of a frozen random network.

Every prunable Conv2d/Linear is swapped for a :class:`SubnetConv2d`/:class:`SubnetLinear`
that keeps its random ``weight`` frozen and owns a trainable ``scores`` tensor of the same
shape. The forward pass uses ``weight * mask``, where ``mask`` keeps the
``round(density * n)`` entries of largest ``|score|`` in the layer; the backward pass is
straight through the top-k: d loss / d |score| = d loss / d w_eff * weight, hence
d loss / d score = d loss / d w_eff * weight * sign(score) (the |.| of the public code;
without the sign a large negative score would be pushed the wrong way).

Only the scores train: biases, BatchNorm affine parameters (frozen at 1 and 0, i.e. the
paper's non-affine BN) and layers left out by ``--prunable`` (dense, random) are frozen,
so the shared Trainer, which optimises what has ``requires_grad``, trains scores alone.
Module names are unchanged, so the state dict is the plain model's plus ``<layer>.scores``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.masks import Mask, PrunableSpec, prunable_parameters
from ticketlab.models.init import fan_in
from ticketlab.pruning.quotas.counts import kept_total

WEIGHT_INITS = ("signed-constant", "kaiming-normal")
SCORES_SUFFIX = ".scores"


def check_density(value: float, flag: str = "--density") -> None:
    """Raise a :class:`ConfigError` unless ``value`` (a fraction kept) is in (0, 1]."""
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{flag} must be in (0, 1] (the fraction of weights kept), got {value}")


@dataclass(frozen=True)
class EdgePopupConfig:
    """How the frozen random weights are drawn and how many of them each layer keeps."""

    density: float = option(
        0.5, "fraction of each prunable layer's weights KEPT (its top-k |score|), in (0, 1]", metavar="K"
    )
    weight_init: str = option(
        "signed-constant",
        "frozen random weights: signed-constant (+-sqrt(2/fan_in), random signs) or "
        "kaiming-normal (N(0, 2/fan_in))",
        choices=WEIGHT_INITS,
    )
    scale_by_density: bool = option(
        False, "use fan_in * density in the weight formulas (the paper's scaled variant)"
    )

    def __post_init__(self) -> None:
        check_density(self.density)
        check_choice(self.weight_init, "--weight-init", WEIGHT_INITS)


class TopK(torch.autograd.Function):
    """0/1 mask of the ``k`` largest entries of ``magnitudes``; gradient straight through."""

    @staticmethod
    def forward(ctx: Any, magnitudes: Tensor, k: int) -> Tensor:
        flat = torch.zeros(magnitudes.numel(), dtype=magnitudes.dtype, device=magnitudes.device)
        if k > 0:
            flat[magnitudes.detach().flatten().topk(k, sorted=False).indices] = 1.0
        return flat.view_as(magnitudes)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


class SubnetLayer(nn.Module):
    """What SubnetConv2d and SubnetLinear share: frozen ``weight``, trainable ``scores``."""

    weight: nn.Parameter
    bias: nn.Parameter | None
    scores: nn.Parameter
    density: float

    def adopt(self, layer: nn.Module, density: float) -> None:
        """Take over ``layer``'s weight and bias (the same tensors) and add fresh scores."""
        self.weight = layer.weight
        if layer.bias is not None:
            self.bias = layer.bias
        self.density = density
        self.scores = nn.Parameter(torch.empty_like(layer.weight))

    @property
    def kept(self) -> int:
        """Weights the layer keeps: round(density * n)."""
        return kept_total(self.density, self.weight.numel())

    def subnet_mask(self) -> Tensor:
        """The current top-k mask (bool, shape of ``weight``)."""
        with torch.no_grad():
            return TopK.apply(self.scores.abs(), self.kept).bool()

    def masked_weight(self) -> Tensor:
        """``weight * mask``; differentiable in ``scores`` (straight through the top-k)."""
        return self.weight * TopK.apply(self.scores.abs(), self.kept)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, density={self.density}"


class SubnetConv2d(SubnetLayer, nn.Conv2d):
    """A Conv2d whose forward pass uses the top-k subnetwork of its frozen weight."""

    @classmethod
    def wrap(cls, layer: nn.Conv2d, density: float) -> SubnetConv2d:
        """The subnet version of ``layer``, sharing its parameters."""
        # Built on the meta device: nothing allocated, no RNG draws, then adopt the real tensors.
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,  # type: ignore[arg-type]
                  padding=layer.padding, dilation=layer.dilation, groups=layer.groups,  # type: ignore[arg-type]
                  bias=layer.bias is not None, padding_mode=layer.padding_mode, device="meta")
        new.adopt(layer, density)
        return new

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.masked_weight(), self.bias)


class SubnetLinear(SubnetLayer, nn.Linear):
    """A Linear whose forward pass uses the top-k subnetwork of its frozen weight."""

    @classmethod
    def wrap(cls, layer: nn.Linear, density: float) -> SubnetLinear:
        """The subnet version of ``layer``, sharing its parameters."""
        new = cls(layer.in_features, layer.out_features, bias=layer.bias is not None, device="meta")
        new.adopt(layer, density)
        return new

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.masked_weight(), self.bias)


@torch.no_grad()
def draw_frozen_weights(model: nn.Module, prunable: set[str], config: EdgePopupConfig,
                        generator: torch.Generator) -> None:
    """Redraw every Conv2d/Linear weight of ``model`` in place with ``config.weight_init``.

    Magnitude (signed-constant) or standard deviation (kaiming-normal) is
    sqrt(2 / fan), fan = fan_in, times ``density`` with ``scale_by_density`` for the layers
    named in ``prunable`` (dense layers keep every weight, so they are not rescaled).
    """
    for name, module in model.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        weight = module.weight
        fan = fan_in(weight) * (config.density if config.scale_by_density and f"{name}.weight" in prunable else 1.0)
        scale = math.sqrt(2.0 / fan)
        if config.weight_init == "signed-constant":
            values = (torch.randint(0, 2, weight.shape, generator=generator) * 2 - 1).to(weight.dtype) * scale
        else:
            values = torch.randn(weight.shape, generator=generator, dtype=weight.dtype) * scale
        weight.copy_(values)


def to_edge_popup(model: nn.Module, spec: PrunableSpec, config: EdgePopupConfig, *,
                  weight_generator: torch.Generator, score_generator: torch.Generator) -> nn.Module:
    """Turn ``model`` (on the CPU) into an edge-popup network in place and return it.

    Draws the frozen weights, swaps the prunable layers for subnet layers with
    kaiming-uniform(a=sqrt(5)) scores (the paper's init) and freezes all but the scores.
    """
    if "biases" in spec.tokens:
        raise ConfigError("edge-popup selects weights only: drop 'biases' from --prunable")
    prunable = set(prunable_parameters(model, spec))
    draw_frozen_weights(model, prunable, config, weight_generator)
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            full = f"{parent_name}.{child_name}" if parent_name else child_name
            if f"{full}.weight" not in prunable:
                continue
            kind = SubnetConv2d if isinstance(child, nn.Conv2d) else SubnetLinear
            layer = kind.wrap(child, config.density)  # type: ignore[arg-type]
            nn.init.kaiming_uniform_(layer.scores, a=math.sqrt(5), generator=score_generator)
            setattr(parent, child_name, layer)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for layer in subnet_layers(model).values():
        layer.scores.requires_grad_(True)
    return model


def subnet_layers(model: nn.Module) -> dict[str, SubnetLayer]:
    """The subnet layers of ``model``, keyed by the name of their weight."""
    return {f"{name}.weight" if name else "weight": m for name, m in model.named_modules() if isinstance(m, SubnetLayer)}


def popup_mask(model: nn.Module) -> Mask:
    """The current top-k masks on the CPU, keyed like the plain model's prunable weights."""
    return {name: layer.subnet_mask().cpu() for name, layer in subnet_layers(model).items()}


def plain_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """The state dict without the scores: loads into the plain (unwrapped) architecture."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith(SCORES_SUFFIX)}
