"""A data set in one ``.npz`` file: arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.

Rules (``ticketlab train --help`` states them too):

- images are uint8 (0..255, taken as is) or float (intensities in [0, 1], rounded to the
  nearest of 256 levels, ``round(x * 255)``; a value outside [0, 1] or NaN is an error);
- (N, H, W) is one grey channel; a 4-D array is channels-last (NHWC) when its last axis
  is 1 or 3 and its second is not, else channels-first (NCHW);
- labels are integers (any integer dtype) 0..K-1, K = the largest training label + 1, at
  least 2; test labels must fall in the same range.

Every problem is a one-line :class:`DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ticketlab.data.source import RawSplits
from ticketlab.errors import DataError

KEYS = ("x_train", "y_train", "x_test", "y_test")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of ``path`` (no pickles: object arrays are refused)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # not a zip, not .npy, truncated: any malformed byte stream
        raise DataError(f"{path}: not a readable .npz file ({_one_line(exc)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, expected an .npz holding {', '.join(KEYS)}")
    with archive:
        missing = [key for key in KEYS if key not in archive.files]
        if missing:
            raise DataError(f"{path}: missing array(s) {', '.join(missing)} (expected {', '.join(KEYS)})")
        try:
            return {key: archive[key] for key in KEYS}
        except Exception as exc:  # object arrays (pickles), truncated members
            raise DataError(f"{path}: cannot read its arrays ({_one_line(exc)})") from None


def to_nchw(path: Path, key: str, images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) from ``images`` under the rules above."""
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4:
        if images.shape[3] in (1, 3) and images.shape[1] not in (1, 3):
            images = images.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"{path}: {key} has shape {images.shape}, expected (N, H, W), (N, H, W, C) or (N, C, H, W)")
    if images.shape[0] == 0 or min(images.shape[1:]) < 1:
        raise DataError(f"{path}: {key} holds no images (shape {images.shape})")
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{path}: {key} is {images.dtype}, expected uint8 (0..255) or float (0..1)")
    if not np.isfinite(images).all() or images.min() < 0.0 or images.max() > 1.0:
        raise DataError(f"{path}: {key} is float with values outside [0, 1] (or NaN); float images are 0..1")
    return np.rint(images.astype(np.float64) * 255.0).astype(np.uint8)


def to_labels(path: Path, key: str, labels: np.ndarray, count: int) -> np.ndarray:
    """int64 (N,) labels, checked against ``count`` images."""
    if labels.ndim != 1 or labels.shape[0] != count:
        raise DataError(f"{path}: {key} has shape {labels.shape}, expected ({count},): one label per image")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: {key} is {labels.dtype}, expected integer labels 0..K-1")
    if int(labels.min()) < 0:
        raise DataError(f"{path}: {key} has a negative label ({int(labels.min())})")
    return labels.astype(np.int64)


def read_npz(path: Path) -> RawSplits:
    """The raw splits of an ``.npz`` data set (see the module's rules)."""
    arrays = load_arrays(path)
    x_train = to_nchw(path, "x_train", arrays["x_train"])
    x_test = to_nchw(path, "x_test", arrays["x_test"])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{path}: x_train images are {'x'.join(map(str, x_train.shape[1:]))} (CxHxW) but x_test "
            f"images are {'x'.join(map(str, x_test.shape[1:]))}"
        )
    y_train = to_labels(path, "y_train", arrays["y_train"], x_train.shape[0])
    y_test = to_labels(path, "y_test", arrays["y_test"], x_test.shape[0])
    classes = int(y_train.max()) + 1
    if classes < 2:
        raise DataError(f"{path}: y_train has one class only (label 0); a data set needs at least two")
    if int(y_test.max()) >= classes:
        raise DataError(
            f"{path}: y_test has label {int(y_test.max())}, outside the training labels 0..{classes - 1}"
        )
    return RawSplits(_tensor(x_train), _tensor(y_train), _tensor(x_test), _tensor(y_test))


def _tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))
