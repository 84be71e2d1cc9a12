"""Typed records of what runs report: ``result.json`` is one of these, written and read back.

Every kind of run extends :class:`RunResult` (or :class:`TrainingResult` when it trains)
with its own fields, so tables, reports and summaries read attributes instead of string
keys spelled in several places. The JSON keys are the field names, unchanged from the
``result.json`` files written before these records existed; reading one back fills a
field that an older file lacks with its default (``None`` for what was added later).
"""

from __future__ import annotations

import dataclasses
import platform
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

import ticketlab
from ticketlab.errors import CheckpointError
from ticketlab.masks import EffectiveReport, Mask, count_kept, layer_report

R = TypeVar("R", bound="RunResult")

# A per-layer row: name, shape, kept, total, density (and effective_kept etc. where measured).
LayerRow = dict[str, Any]


@dataclass
class RunResult:
    """What every run reports: where it is, what it is, how long it took."""

    run_dir: str = ""
    kind: str = ""
    hash: str = ""
    wall_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The record as ``result.json`` holds it (field names are the keys)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls: type[R], data: Any) -> R:
        """The record of a parsed ``result.json``; keys it does not know are ignored."""
        if not isinstance(data, dict):
            raise CheckpointError(f"a {cls.__name__} must be a JSON object, got {type(data).__name__}")
        return _build(cls, data)


@dataclass
class TrainingResult(RunResult):
    """What every run that trains a model reports (the final epoch's metrics, the mask's counts)."""

    test_accuracy: float | None = None
    test_loss: float | None = None
    val_accuracy: float | None = None
    val_loss: float | None = None
    train_accuracy: float | None = None
    train_loss: float | None = None
    epochs: int = 0
    steps: int = 0
    sparsity: float = 0.0
    kept: int = 0
    total: int = 0
    parameters: int = 0
    layers: list[LayerRow] = field(default_factory=list)
    device: str = "cpu"
    versions: dict[str, str] = field(default_factory=dict)


@dataclass
class EffectiveFields:
    """Effective sparsity of a trained mask (weights on no input-output path count as pruned)."""

    effective_sparsity: float | None = None
    effective_kept: int | None = None
    disconnected: bool | None = None


@dataclass
class SelectedEpochFields:
    """Selection over the epochs of one training (see :func:`ticketlab.tickets.select_epoch`)."""

    selected_epoch: int | None = None
    selected_by: str | None = None
    final_test_accuracy: float | None = None
    test_accuracy_selected_on_test: float | None = None


def training_fields(trainer: Any, mask: Mask, model: nn.Module, device: str) -> dict[str, Any]:
    """The :class:`TrainingResult` fields of a finished trainer, its mask and model."""
    final = trainer.history[-1]
    kept, total = count_kept(mask)
    return {
        "test_accuracy": final["test_accuracy"],
        "test_loss": final["test_loss"],
        "val_accuracy": final["val_accuracy"],
        "val_loss": final["val_loss"],
        "train_accuracy": final["train_accuracy"],
        "train_loss": final["train_loss"],
        "epochs": final["epoch"],
        "steps": trainer.step,
        "sparsity": 1.0 - kept / total,
        "kept": kept,
        "total": total,
        "parameters": sum(p.numel() for p in model.parameters()),
        "layers": [row.as_dict() for row in layer_report(mask)],
        "device": str(device),
        "versions": {"ticketlab": ticketlab.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
    }


def effective_dict(report: EffectiveReport | None, mask: Mask) -> dict[str, Any]:
    """``report.as_dict()``; without a report (a model the pass cannot analyse) the same keys,
    every effective figure None ("unavailable") and per-layer rows with ``effective_kept`` None."""
    if report is not None:
        return report.as_dict()
    kept, total = count_kept(mask)
    return {
        "total": total, "kept": kept, "effective_kept": None, "direct_sparsity": 1.0 - kept / total if total else 0.0,
        "effective_sparsity": None, "direct_compression": total / kept if kept else None,
        "effective_compression": None, "disconnected": None,
        "layers": [{**row.as_dict(), "effective_kept": None} for row in layer_report(mask)],
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    """``cls`` from a dict, nested records (fields typed as records, lists or dicts of them) included."""
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _convert(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        records = [a for a in args if dataclasses.is_dataclass(a) or typing.get_origin(a) in (list, dict)]
        return _convert(records[0], value) if records and value is not None else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _build(hint, value)
    if origin is list and args and isinstance(value, list):
        return [_convert(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _convert(args[1], v) for k, v in value.items()}
    return value
