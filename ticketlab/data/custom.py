"""The user's own data sets (``--dataset npz:FILE`` or ``folder:PATH``) as sources.

Their shape and class count are learnt from the files when they are read
(:meth:`FileSource.fitted`); mean and std come from the training split, as for
synthetic data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ticketlab.data.registry import DATASETS
from ticketlab.data.source import DatasetSource, RawSplits
from ticketlab.data.spec import parse_size, parse_spec

if TYPE_CHECKING:
    from ticketlab.data.config import DataConfig


@dataclass(frozen=True)
class FileSource(DatasetSource):
    """An ``npz:`` file or a ``folder:`` of images; never searched for or downloaded."""

    scheme: str = "npz"
    path: Path = Path()
    image_size: tuple[int, int] | None = None

    @property
    def location(self) -> Path | None:
        return self.path

    def load(self, directory: Path | None) -> RawSplits:
        if self.scheme == "npz":
            from ticketlab.data.npzfile import read_npz

            return read_npz(self.path)
        from ticketlab.data.foldercache import read_folder

        return read_folder(self.path, self.image_size)

    def fitted(self, raw: RawSplits) -> DatasetSource:
        shape = tuple(raw.train_images.shape[1:])
        classes = int(raw.train_labels.max()) + 1
        fitted = dataclasses.replace(self, image_shape=shape, num_classes=classes)
        raw.check(str(self.path), fitted.image_shape, classes)
        return fitted


def file_source(name: str, cfg: DataConfig | None = None) -> FileSource | None:
    """The source of a ``npz:``/``folder:`` spec (None for a plain name)."""
    spec = parse_spec(name)
    if spec is None:
        return None
    scheme, path = spec
    size = parse_size(cfg.image_size) if cfg is not None and cfg.image_size else None
    what = "arrays in an .npz file" if scheme == "npz" else "a folder of images"
    return FileSource(
        name=name, description=f"your own data: {what}", image_shape=(0, 0, 0), num_classes=0,
        mean=None, std=None, scheme=scheme, path=path, image_size=size,
    )


def source_for(cfg: DataConfig) -> DatasetSource:
    """The source of ``cfg.dataset``: a file spec, or a registered name configured by ``cfg``."""
    return file_source(cfg.dataset, cfg) or DATASETS.get(cfg.dataset).for_config(cfg)


def check_dataset(name: str) -> None:
    """A one-line :class:`ConfigError` unless ``name`` is registered or a valid file spec."""
    if parse_spec(name) is None:
        DATASETS.entry(name)
