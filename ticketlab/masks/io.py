"""Saving and loading masks as NumPy ``.npz`` archives (bool arrays keyed by parameter name).

``.npz`` is readable without ticketlab or PyTorch (``numpy.load``) and never unpickles.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from ticketlab.atomic import atomic_write_bytes
from ticketlab.errors import CheckpointError
from ticketlab.masks.mask import Mask


def save_mask(path: str | Path, mask: Mask) -> None:
    """Write ``mask`` to ``path`` atomically as a compressed ``.npz`` of bool arrays."""
    buffer = io.BytesIO()
    arrays = {name: m.detach().cpu().numpy().astype(bool) for name, m in mask.items()}
    # Keep the insertion order: npz preserves it and reports rely on it.
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_mask(path: str | Path) -> Mask:
    """Read a mask written by :func:`save_mask`; a corrupt file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"mask file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise CheckpointError(f"mask file {path} is truncated or corrupt ({_reason(exc)})") from None
    mask: Mask = {}
    for name, array in arrays.items():
        if array.dtype != np.bool_:
            raise CheckpointError(f"mask file {path}: entry '{name}' is {array.dtype}, not bool")
        mask[name] = torch.from_numpy(array.copy())
    if not mask:
        raise CheckpointError(f"mask file {path} holds no entries")
    return mask


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
