"""Hooks into the training loop, for methods that change the run as it trains (a moving mask).

A :class:`Callback` sees the trainer at fixed points of every optimizer step and adds
fields to every epoch's metrics; its state is part of the trainer's checkpoint, so a
resumed run continues exactly as an uninterrupted one. A trainer without callbacks
behaves, and checkpoints, exactly as before they existed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the loop imports this module; the name is only an annotation here
    from ticketlab.training.loop import Trainer


class Callback:
    """No-op hooks; a subclass overrides the ones it needs.

    Order within a step: forward, backward, :meth:`after_backward` (gradients are dense:
    pruned entries not yet zeroed), gradient masking, optimizer step, weight masking,
    ``trainer.step += 1``, :meth:`after_step`.
    """

    def attach(self, trainer: Trainer) -> None:
        """Called once, when the trainer is built (before any state is loaded)."""

    def after_backward(self, trainer: Trainer) -> None:
        """After backward of step ``trainer.step`` (0-based), before the gradients are masked."""

    def after_step(self, trainer: Trainer) -> None:
        """After the optimizer step; ``trainer.step`` counts it already."""

    def epoch_metrics(self, trainer: Trainer) -> dict[str, Any]:
        """Fields added to the metrics of the epoch that just ended (after evaluation)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """What must be checkpointed to continue exactly (tensors on the CPU)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` wrote."""
