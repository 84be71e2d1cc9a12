"""Export files: a state dict plus the plain-data description needed to rebuild its network.

An export is a ``torch.save`` of tensors and plain containers only (it loads with
``weights_only=True``): the model's registry config, input shape and class count rebuild
the original architecture (a strong ticket's source network: its tree spec, see
:func:`ticketlab.export.modules.tree_spec`); then the modules compaction replaced and the layers made
sparse are swapped for empty ones of the recorded shapes (:mod:`.modules`,
:mod:`.sparse`), and the state dict fills them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ticketlab.config import from_dict
from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.export.modules import module_from_spec, module_from_tree, replace_module
from ticketlab.models import ModelConfig, build_from_config
from ticketlab.runs.store import load_torch_file

EXPORT_FORMAT = "ticketlab-export/1"


def export_payload(form: str, architecture: dict[str, Any], input_shape: tuple[int, ...], num_classes: int,
                   module: nn.Module, compact: dict[str, dict[str, Any]],
                   sparse: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What an export file holds (see the module docstring); ``architecture`` is ``{"config": ModelConfig
    fields}`` or ``{"tree": spec}``."""
    return {"format": EXPORT_FORMAT, "form": form, "model": architecture, "input_shape": list(input_shape),
            "num_classes": num_classes, "compact": compact, "sparse": sparse or {},
            "state": {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}}


def payload_bytes(payload: Any) -> bytes:
    """The bytes ``torch.save`` writes for ``payload``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def load_export(path: str | Path) -> nn.Module:
    """The network of an export file (compact or sparse), in eval mode."""
    payload = load_torch_file(Path(path))
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise CheckpointError(f"{path} is not a ticketlab export ({EXPORT_FORMAT})")
    try:
        architecture = payload["model"]
        if "tree" in architecture:  # a strong ticket's source network
            module = module_from_tree(architecture["tree"])
        else:
            config = from_dict(ModelConfig, architecture["config"])
            module = build_from_config(config, tuple(payload["input_shape"]), int(payload["num_classes"]), seed=0)
        for name, spec in payload["compact"].items():
            replace_module(module, name, module_from_spec(spec))
        if payload["sparse"]:
            from ticketlab.export.sparse import rebuild_sparse_layers

            rebuild_sparse_layers(module, payload["sparse"])
        module.load_state_dict(payload["state"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, ConfigError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path} cannot be rebuilt ({reason})") from None
    return module.eval()
