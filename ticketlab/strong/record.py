"""What a strong construction built for one target layer: its estimates and their errors.

Every construction returns one :class:`LayerApproximation` per approximated target layer.
A construction that keeps several copies of a layer (two parts, relu(x) and relu(-x), in
the two-layer constructions; n copies of every unit in burkholz-l1) records every copy's
estimate, so the errors are the worst over all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass(frozen=True)
class Reach:
    """What one estimate's subset-sum instances could reach, per entry, in weight units.

    Entry e's estimate is a subset sum of its candidates (divided by the part's scale), so
    it lies in [low, high]: the sums of its negative and of its positive candidates.
    ``spread`` is the candidates' standard deviation (population, over real candidates).
    ``center`` and ``width`` are the mean and standard deviation of the sum over all 2^m
    subsets (exactly sum(a) / 2 and sqrt(sum(a^2)) / 2): the subset sums crowd around
    ``center``, so a target many widths away from it has few sums near it. All are
    shaped like the layer's weight.
    """

    low: Tensor
    high: Tensor
    spread: Tensor
    center: Tensor
    width: Tensor

    @staticmethod
    def of(candidates: Tensor, valid: Tensor, scale: float) -> Reach:
        """From (..., m) candidates of targets ``w * scale`` (``valid`` marks real ones)."""
        values = torch.where(valid, candidates, torch.zeros((), dtype=candidates.dtype))
        positive = values.clamp(min=0).sum(dim=-1) / scale
        negative = values.clamp(max=0).sum(dim=-1) / scale
        count = valid.sum(dim=-1).clamp(min=1)
        mean = values.sum(dim=-1) / count
        variance = (torch.where(valid, values - mean.unsqueeze(-1), torch.zeros((), dtype=values.dtype)) ** 2
                    ).sum(dim=-1) / count
        low, high = (negative, positive) if scale > 0 else (positive, negative)
        center = values.sum(dim=-1) / (2 * scale)
        width = values.pow(2).sum(dim=-1).sqrt() / (2 * abs(scale))
        return Reach(low, high, variance.sqrt() / abs(scale), center, width)

    def scaled(self, factor: float) -> Reach:
        """The same reach in units ``factor`` times smaller (``factor`` > 0)."""
        return Reach(self.low / factor, self.high / factor, self.spread / factor, self.center / factor,
                     self.width / factor)

    def unbind(self, dim: int) -> list[Reach]:
        """One Reach per index along ``dim`` (e.g. per output copy)."""
        fields = (self.low, self.high, self.spread, self.center, self.width)
        return [Reach(*parts) for parts in zip(*(f.unbind(dim) for f in fields), strict=True)]


@dataclass(frozen=True)
class LayerApproximation:
    """One target layer (``name``, ``weight``, ``bias``) and what the ticket computes for it.

    ``weight_estimates`` and ``bias_estimates`` hold one tensor per copy, each shaped like
    ``weight`` (resp. ``bias``); ``bias_estimates`` is empty when the layer has no bias.
    """

    name: str
    weight: Tensor
    bias: Tensor | None
    weight_estimates: list[Tensor]
    bias_estimates: list[Tensor] = field(default_factory=list)
    # One Reach per weight estimate (same order), where the construction records its
    # subset-sum instances; empty where it does not. Only diagnostics read it.
    weight_reach: list[Reach] = field(default_factory=list)
    # Likewise one Reach per bias estimate (its instances use the constant channels).
    bias_reach: list[Reach] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.weight_estimates:
            raise ValueError(f"{self.name}: a layer approximation needs at least one weight estimate")
        if bool(self.bias_estimates) != (self.bias is not None):
            raise ValueError(f"{self.name}: bias estimates are needed exactly when the layer has a bias")
        if self.weight_reach and len(self.weight_reach) != len(self.weight_estimates):
            raise ValueError(f"{self.name}: one reach per weight estimate, or none")
        if self.bias_reach and len(self.bias_reach) != len(self.bias_estimates):
            raise ValueError(f"{self.name}: one reach per bias estimate, or none")

    def unscaled(self, weight: Tensor, bias: Tensor | None, weight_factor: float, bias_factor: float
                 ) -> LayerApproximation:
        """This record of a rescaled layer (``weight`` * ``weight_factor``, ``bias`` * ``bias_factor``)
        in the coordinates of the original ``weight`` and ``bias``: every estimate divided back."""
        return LayerApproximation(
            self.name, weight, bias, [e / weight_factor for e in self.weight_estimates],
            [e / bias_factor for e in self.bias_estimates], [r.scaled(weight_factor) for r in self.weight_reach],
            [r.scaled(bias_factor) for r in self.bias_reach])

    @property
    def weight_error(self) -> float:
        """max |w - w_hat| over every entry of every copy."""
        return max(float((estimate - self.weight).abs().max()) for estimate in self.weight_estimates)

    @property
    def bias_error(self) -> float | None:
        """max |b - b_hat| over every copy; None without a bias."""
        if self.bias is None:
            return None
        return max(float((estimate - self.bias).abs().max()) for estimate in self.bias_estimates)

    @property
    def relative_weight_error(self) -> float:
        """Seed 000's per-tensor error: max |w - w_hat| / max |w| (an all-zero w divides by 1)."""
        return self.weight_error / _scale(self.weight)

    @property
    def relative_bias_error(self) -> float | None:
        """max |b - b_hat| / max |b| (an all-zero b divides by 1); None without a bias."""
        error = self.bias_error
        return None if error is None or self.bias is None else error / _scale(self.bias)


def _scale(tensor: Tensor) -> float:
    # An all-zero target tensor reports its absolute error rather than dividing by zero.
    return float(tensor.abs().max()) or 1.0
