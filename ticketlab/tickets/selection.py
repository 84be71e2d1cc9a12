"""Model selection over the epochs of one training: on validation, never on the test set."""

from __future__ import annotations

from typing import Any


def select_epoch(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The epoch chosen by validation accuracy (the first best), or the last without validation.

    Returns ``selected_epoch``, ``selected_by`` ("val" or "last"), the val and test
    accuracy at that epoch, ``final_test_accuracy``, and -- labelled, for comparison
    with seed 004's code, which picks the best epoch on the test set --
    ``test_accuracy_selected_on_test``, the best test accuracy over all epochs.
    """
    if not history:
        raise ValueError("no epochs to select from")
    with_val = [h for h in history if h.get("val_accuracy") is not None]
    if with_val:
        best = max(with_val, key=lambda h: h["val_accuracy"])  # max keeps the first of ties
        selected_by = "val"
    else:
        best = history[-1]
        selected_by = "last"
    return {
        "selected_epoch": best["epoch"],
        "selected_by": selected_by,
        "val_accuracy": best.get("val_accuracy"),
        "test_accuracy": best["test_accuracy"],
        "final_test_accuracy": history[-1]["test_accuracy"],
        "test_accuracy_selected_on_test": max(h["test_accuracy"] for h in history if h["test_accuracy"] is not None),
    }
