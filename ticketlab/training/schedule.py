"""Learning rate as a pure function of the step, so resuming needs no scheduler state."""

from __future__ import annotations

import math
from collections.abc import Callable

from ticketlab.training.config import TrainConfig
from ticketlab.training.duration import Duration, parse_points


def lr_schedule(config: TrainConfig, total_steps: int, steps_per_epoch: int) -> Callable[[int], float]:
    """A function from optimizer step (0-based) to learning rate.

    Linear warmup over the first W steps scales by (step+1)/W; "step" multiplies by the
    drop factor once for every drop point <= step; "cosine" decays from LR at step 0
    towards 0 at ``total_steps``. The config is parsed once, here, not at every step.
    """
    assert config.lr is not None
    base, schedule, factor_per_drop = config.lr, config.schedule, config.lr_drop_factor
    drops = sorted(p.to_steps(steps_per_epoch) for p in parse_points(config.lr_drops, "--lr-drops"))
    warmup_steps = Duration.parse(config.warmup).to_steps(steps_per_epoch)
    span = max(total_steps, 1)

    def lr_at(step: int) -> float:
        factor = 1.0
        if schedule == "step":
            factor = factor_per_drop ** sum(1 for d in drops if d <= step)
        elif schedule == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / span))
        if step < warmup_steps:
            factor *= (step + 1) / warmup_steps
        return base * factor

    return lr_at


def learning_rate(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """The learning rate of optimizer step ``step`` (0-based) of ``total_steps``."""
    return lr_schedule(config, total_steps, steps_per_epoch)(step)
