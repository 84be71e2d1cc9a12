"""Training lengths and points in training, in epochs ("20ep") or iterations ("500it")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ticketlab.errors import ConfigError

_PATTERN = re.compile(r"^\s*(\d+)\s*(ep|it)\s*$")


@dataclass(frozen=True)
class Duration:
    """``amount`` epochs (unit "ep") or optimizer steps (unit "it")."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str, what: str = "duration") -> Duration:
        """Parse ``"12ep"`` or ``"300it"``; anything else raises :class:`ConfigError`."""
        match = _PATTERN.match(str(text))
        if not match:
            raise ConfigError(f"{what} must look like 12ep or 300it, got '{text}'")
        return cls(int(match.group(1)), match.group(2))

    def to_steps(self, steps_per_epoch: int) -> int:
        """The number of optimizer steps this duration spans."""
        return self.amount * steps_per_epoch if self.unit == "ep" else self.amount

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def parse_points(text: str, what: str) -> tuple[Duration, ...]:
    """Parse a comma list of points like ``"80ep,120ep"``; a bare number means epochs."""
    points = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        points.append(Duration.parse(part + "ep" if part.isdigit() else part, what))
    return tuple(points)
