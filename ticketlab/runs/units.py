"""Units of work inside run directories: a directory holding trained weights, the config
that describes it (the nearest ``config.json`` at or above it), and its trained model.

A train or prune run directory is one unit; a lottery has one per level and branch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ticketlab.config import from_dict
from ticketlab.data import DataBundle, DataConfig
from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.masks import apply_mask, count_kept, load_mask
from ticketlab.models import ModelConfig, build_from_config
from ticketlab.runs.store import CHECKPOINT_FORMAT, load_torch_file, read_json

MODEL_FILE = "model_final.pt"
# Written by validation-based selection (lottery units): the weights whose test accuracy
# the run reports, so other analyses describe the same model.
SELECTED_MODEL_FILE = "model_best.pt"


def model_file(unit: Path) -> Path:
    """The weights a unit reports on: the validation-selected ones if kept, else the final ones."""
    selected = unit / SELECTED_MODEL_FILE
    return selected if selected.is_file() else unit / MODEL_FILE


def unit_config(unit: Path) -> tuple[Path, dict[str, Any], DataConfig, ModelConfig]:
    """(config.json path, its record, data config, model config) of ``unit``.

    The nearest ``config.json`` at or above ``unit`` whose config names a data set and
    a model; one that names neither (a part's own notes) is passed over.
    """
    for directory in [unit, *unit.absolute().parents]:
        candidate = directory / "config.json"
        if not candidate.is_file():
            continue
        record = read_json(candidate)
        config = record.get("config") if isinstance(record, dict) else None
        if not isinstance(config, dict) or "data" not in config or "model" not in config:
            continue
        try:
            return candidate, record, from_dict(DataConfig, config["data"]), from_dict(ModelConfig, config["model"])
        except ConfigError as exc:
            raise ConfigError(f"{candidate}: {exc}") from None
    raise CheckpointError(f"no config.json naming a data set and a model at or above {unit}")


def load_unit_model(
    unit: Path, config: ModelConfig, data: DataBundle, run_hash: object
) -> tuple[nn.Module, float | None]:
    """The unit's trained model (masked when it has a ``mask.npz``) and its sparsity (None: no mask)."""
    path = model_file(unit)
    payload = load_torch_file(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a ticketlab model file")
    state = payload.get("state")
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path} holds no model weights")
    if run_hash is not None and payload.get("hash") != run_hash:
        raise CheckpointError(f"{path} belongs to another run than the config.json above it")
    info = data.info
    model = build_from_config(config, info.image_shape, info.num_classes, seed=0)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        reason = (str(exc).strip().splitlines() or ["mismatch"])[0]
        raise CheckpointError(f"{path} does not fit a {config.model} model ({reason})") from None
    sparsity = None
    if (unit / "mask.npz").exists():
        mask = load_mask(unit / "mask.npz")
        with torch.no_grad():
            apply_mask(model, mask)
        kept, total = count_kept(mask)
        sparsity = 1.0 - kept / total
    return model, sparsity


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
