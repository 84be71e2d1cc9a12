"""The inertial-manifold gap rule: the smallest N with lambda_{N+1} - lambda_N > 2 Lip(F)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Gap:
    """A spectral gap after the N-th smallest eigenvalue (N 1-based)."""

    index: int
    lower: float  # lambda_N
    upper: float  # lambda_{N+1}
    threshold: float  # 2 Lip(F), the width a gap must exceed

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "width": self.width}


def find_gap(pairs: Iterable[tuple[int, float, float]], lipschitz: float) -> Gap | None:
    """The gap of smallest N among known consecutive pairs (N, lambda_N, lambda_{N+1}), or None.

    A gap must be strictly wider than ``2 * lipschitz``; pairs whose eigenvalues are not
    both known (the unresolved middle of a large spectrum) are never gaps.
    """
    if lipschitz < 0:
        raise ValueError(f"a Lipschitz constant is never negative, got {lipschitz}")
    threshold = 2.0 * lipschitz
    for index, lower, upper in sorted(pairs):
        if upper - lower > threshold:
            return Gap(index=index, lower=lower, upper=upper, threshold=threshold)
    return None
