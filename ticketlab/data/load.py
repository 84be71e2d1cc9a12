"""From a :class:`DataConfig` to tensors on a device."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from ticketlab.data.batches import DataBundle, DatasetInfo, TensorSplit
from ticketlab.data.config import DataConfig
from ticketlab.data.download import download_dataset
from ticketlab.data.locate import find_dataset, not_found_message
from ticketlab.data.registry import DATASETS
from ticketlab.data.source import DatasetSource, RawSplits
from ticketlab.data.splits import stratified_split
from ticketlab.errors import DataError


def channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images (N, C, H, W), in [0, 1] pixel units."""
    pixels = images.transpose(0, 1).reshape(images.shape[1], -1).double() / 255.0
    mean = pixels.mean(dim=1)
    # A constant channel (std 0) would turn every pixel into inf or nan.
    std = pixels.std(dim=1, correction=0).clamp_min(1e-6)
    return tuple(mean.tolist()), tuple(std.tolist())


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
    """The registered source of ``cfg.dataset``, configured by ``cfg``."""
    return DATASETS.get(cfg.dataset).for_config(cfg)


def read_raw(
    source: DatasetSource,
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    roots: Sequence[Path] | None = None,
) -> tuple[RawSplits, Path | None]:
    """The raw splits of ``source`` and the folder they came from (None if generated)."""
    if not source.needs_files:
        return source.load(None), None
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
) -> DataBundle:
    """Read, split and normalise the data set of ``cfg`` onto ``device``.

    ``roots`` replaces the default search roots after ``data_dir`` (tests use it to
    ignore the machine's data). ``download`` fetches the official files when none are
    found. Normalisation uses the source's standard constants, or for generated data
    the statistics of its whole raw training split (so they do not depend on subsets).
    """
    source = resolve_source(cfg)
    raw, location = read_raw(source, data_dir=data_dir, download=download, roots=roots)
    if source.mean is not None and source.std is not None:
        mean, std = source.mean, source.std
    else:
        mean, std = channel_stats(raw.train_images)
    indices = stratified_split(
        raw.train_labels,
        source.num_classes,
        val=cfg.val,
        per_class=cfg.per_class,
        seed=cfg.subset_seed,
    )

    def subset(rows: Tensor) -> TensorSplit:
        return make_split(raw.train_images[rows], raw.train_labels[rows], mean, std, device)

    train = subset(indices.train)
    val = subset(indices.val) if indices.val is not None else None
    test = make_split(raw.test_images, raw.test_labels, mean, std, device)
    info = DatasetInfo(
        source.name, source.image_shape, source.num_classes, tuple(mean), tuple(std), location
    )
    return DataBundle(train, val, test, info, indices.train, indices.val)


def dataset_status(
    name: str, data_dir: str | Path | None = None, roots: Sequence[Path] | None = None
) -> Path | None:
    """Where ``name``'s files would be read from, or None (also for generated data sets)."""
    source = DATASETS.get(name)
    return find_dataset(source, data_dir, roots) if source.needs_files else None
