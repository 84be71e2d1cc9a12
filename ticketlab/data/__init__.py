"""Data sets for ticketlab: discovery, safe readers, stratified subsets and batches.

``load_data(cfg)`` is the entry point; ``DATASETS`` lists the sources; everything is
held in memory as tensors and batched with index tensors.
"""

from ticketlab.data.batches import (
    DataBundle,
    DatasetInfo,
    TensorSplit,
    eval_batches,
    num_batches,
    train_batches,
)
from ticketlab.data.config import DataConfig
from ticketlab.data.custom import check_dataset
from ticketlab.data.download import download_dataset
from ticketlab.data.load import dataset_status, load_data
from ticketlab.data.registry import DATASETS
from ticketlab.data.source import DatasetSource, RawSplits

__all__ = [
    "DATASETS",
    "DataBundle",
    "DataConfig",
    "DatasetInfo",
    "DatasetSource",
    "RawSplits",
    "TensorSplit",
    "check_dataset",
    "dataset_status",
    "download_dataset",
    "eval_batches",
    "load_data",
    "num_batches",
    "train_batches",
]
