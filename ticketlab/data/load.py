"""From a :class:`DataConfig` to tensors on a device."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ticketlab.data.batches import DataBundle, DatasetInfo, TensorSplit
from ticketlab.data.config import DataConfig
from ticketlab.data.custom import source_for
from ticketlab.data.download import download_dataset
from ticketlab.data.locate import check_data_dir, find_dataset, not_found_message
from ticketlab.data.mapped import MappedImages, cache_key, float_bytes, open_cached, raw_view, write_cached
from ticketlab.data.registry import DATASETS
from ticketlab.data.source import DatasetSource, RawSplits
from ticketlab.data.splits import stratified_split
from ticketlab.errors import DataError


def channel_stats(
    images: Tensor | np.ndarray, chunk: int = 1024
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images (N, C, H, W), in [0, 1] pixel units.

    Pixel sums and sums of squares are exact integers, accumulated ``chunk`` images at a
    time, so a memory-mapped split and the same split in memory give the same floats.
    """
    n, c = images.shape[0], images.shape[1]
    count = n * int(np.prod(images.shape[2:]))
    sums, squares = [0] * c, [0] * c
    for start in range(0, n, chunk):
        block = images[start : start + chunk]
        if not isinstance(block, Tensor):
            block = torch.from_numpy(np.ascontiguousarray(block))
        pixels = block.transpose(0, 1).reshape(c, -1).to(torch.int64)
        for k, (s, q) in enumerate(zip(pixels.sum(dim=1).tolist(), (pixels * pixels).sum(dim=1).tolist())):
            sums[k] += s
            squares[k] += q
    if count == 0:
        return (float("nan"),) * c, (float("nan"),) * c
    mean = tuple(s / (count * 255) for s in sums)  # int / int: correctly rounded
    var = [(count * q - s * s) / (count * count * 255 * 255) for s, q in zip(sums, squares)]
    # A constant channel (std 0) would turn every pixel into inf or nan.
    std = tuple(max(math.sqrt(v), 1e-6) for v in var)
    return mean, std


def normalise(
    images: Tensor, mean: Sequence[float], std: Sequence[float], device: str | torch.device
) -> Tensor:
    """float32 ``(images / 255 - mean) / std`` on ``device``; the uint8 copy moves, not floats."""
    m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    x = images.to(device).to(torch.float32).div_(255.0)
    return x.sub_(m).div_(s)


def make_split(
    images: Tensor,
    labels: Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    device: str | torch.device,
) -> TensorSplit:
    """A :class:`TensorSplit` of raw uint8 ``images`` and int64 ``labels``."""
    pad_value = -torch.tensor(mean, dtype=torch.float32) / torch.tensor(std, dtype=torch.float32)
    x = normalise(images, mean, std, device)
    return TensorSplit(x, labels.to(device), pad_value.to(device))


def resolve_source(cfg: DataConfig) -> DatasetSource:
    """The source of ``cfg.dataset`` (registered, or ``npz:``/``folder:``), configured by ``cfg``."""
    return source_for(cfg)


def read_raw(
    source: DatasetSource,
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    roots: Sequence[Path] | None = None,
) -> tuple[RawSplits, Path | None]:
    """The raw splits of ``source`` and where they came from (None if generated).

    An explicit ``data_dir`` must exist, unless ``download`` is to create it.
    """
    if data_dir is not None and not download:
        check_data_dir(data_dir)
    if not source.needs_files:
        return source.load(None), source.location
    directory = find_dataset(source, data_dir, roots)
    if directory is None and download:
        directory = download_dataset(source.name, data_dir)
    if directory is None:
        raise DataError(not_found_message(source, data_dir, roots))
    return source.load(directory), directory


def load_data(
    cfg: DataConfig,
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    device: str | torch.device = "cpu",
    roots: list[Path] | None = None,
    max_memory: int | None = None,
) -> DataBundle:
    """Read, split and normalise the data set of ``cfg`` onto ``device``.

    ``roots`` replaces the default search roots after ``data_dir`` (tests use it to
    ignore the machine's data). ``download`` fetches the official files when none are
    found. Normalisation uses the source's standard constants, or for generated data
    the statistics of its whole raw training split (so they do not depend on subsets).

    ``max_memory`` (bytes, None: no limit): when the normalised float32 splits would take
    more, the splits hold :class:`MappedImages` (uint8 ``.npy`` copies in the user cache,
    memory-mapped, normalised batch by batch) instead of tensors; every batch is
    bit for bit the same.
    """
    source = resolve_source(cfg)
    arrays, location = None, None
    if max_memory is not None:  # a copy mapped by an earlier run spares reading the files
        arrays, location = _cached_copy(source, cfg, data_dir, download, roots)
    if arrays is not None:
        raw = raw_view(arrays)
    else:
        raw, location = read_raw(source, data_dir=data_dir, download=download, roots=roots)
    source = source.fitted(raw)
    if max_memory is None or _float_size(raw, cfg, source) <= max_memory:
        arrays = None  # in memory (normalise copies, also from a mapped copy)
    elif arrays is None:
        arrays = write_cached(cache_key(source, cfg, location), raw)
        raw = raw_view(arrays)  # the decoded copy is dropped; the page cache holds the files
    if source.mean is not None and source.std is not None:
        mean, std = source.mean, source.std
    else:
        mean, std = channel_stats(arrays["x_train"] if arrays is not None else raw.train_images)
    indices = stratified_split(
        raw.train_labels,
        source.num_classes,
        val=cfg.val,
        per_class=cfg.per_class,
        seed=cfg.subset_seed,
    )

    def subset(rows: Tensor) -> TensorSplit:
        if arrays is not None:
            return _mapped_split(arrays["x_train"], raw.train_labels[rows], mean, std, device, rows)
        return make_split(raw.train_images[rows], raw.train_labels[rows], mean, std, device)

    train = subset(indices.train)
    val = subset(indices.val) if indices.val is not None else None
    if arrays is not None:
        test = _mapped_split(arrays["x_test"], raw.test_labels, mean, std, device, None)
    else:
        test = make_split(raw.test_images, raw.test_labels, mean, std, device)
    info = DatasetInfo(
        source.name, source.image_shape, source.num_classes, tuple(mean), tuple(std), location
    )
    return DataBundle(train, val, test, info, indices.train, indices.val)


def _cached_copy(
    source: DatasetSource,
    cfg: DataConfig,
    data_dir: str | Path | None,
    download: bool,
    roots: list[Path] | None,
) -> tuple[dict[str, np.ndarray] | None, Path | None]:
    """The mapped copy of ``source`` written by an earlier run, and its location (or None)."""
    if data_dir is not None and not download:
        check_data_dir(data_dir)
    location = find_dataset(source, data_dir, roots) if source.needs_files else source.location
    if source.needs_files and location is None:
        return None, None
    try:
        key = cache_key(source, cfg, location)
    except OSError:  # e.g. a missing npz file: reading it gives the proper message
        return None, None
    return open_cached(key), location


def _float_size(raw: RawSplits, cfg: DataConfig, source: DatasetSource) -> int:
    """Bytes of the normalised float32 train (subset), validation and test splits."""
    train = len(raw.train_labels)
    if cfg.per_class is not None:
        train = min(train, cfg.val + cfg.per_class * source.num_classes)
    return float_bytes(train + len(raw.test_labels), tuple(raw.train_images.shape[1:]))


def _mapped_split(
    images: np.ndarray,
    labels: Tensor,
    mean: Sequence[float],
    std: Sequence[float],
    device: str | torch.device,
    rows: Tensor | None,
) -> TensorSplit:
    pad_value = -torch.tensor(mean, dtype=torch.float32) / torch.tensor(std, dtype=torch.float32)
    x = MappedImages(images, mean, std, device, None if rows is None else rows.numpy())
    return TensorSplit(x, labels.to(device), pad_value.to(device))


def dataset_status(
    name: str, data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> Path | None:
    """Where ``name``'s files would be read from, or None (also for generated data sets)."""
    source = DATASETS.get(name)
    return find_dataset(source, data_dir, roots) if source.needs_files else None
