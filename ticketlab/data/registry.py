"""The registry of data sets: name -> :class:`DatasetSource`.

Normalisation constants are the usual per-channel mean/std of each training set, in
[0, 1] pixel units, so results are comparable with other code bases.
"""

from __future__ import annotations

from ticketlab.data import cifar, idx
from ticketlab.data.source import DatasetSource
from ticketlab.data.synthetic import SyntheticSource
from ticketlab.registry import Registry

DATASETS: Registry[DatasetSource] = Registry("dataset")


def register(source: DatasetSource) -> DatasetSource:
    """Add ``source`` to :data:`DATASETS` under its own name."""
    DATASETS.add(source.name, source, source.description)
    return source


register(
    DatasetSource(
        name="fashion-mnist",
        description="Fashion-MNIST: 28x28 grey clothing images, 10 classes, 60000/10000",
        image_shape=(1, 28, 28),
        num_classes=10,
        mean=(0.2860,),
        std=(0.3530,),
        files=idx.FILES,
        layouts=("FashionMNIST/raw",),
        reader=idx.read_idx_dataset,
        debian_package="dataset-fashion-mnist",
    )
)
register(
    DatasetSource(
        name="mnist",
        description="MNIST: 28x28 grey handwritten digits, 10 classes, 60000/10000",
        image_shape=(1, 28, 28),
        num_classes=10,
        mean=(0.1307,),
        std=(0.3081,),
        files=idx.FILES,
        layouts=("MNIST/raw",),
        reader=idx.read_idx_dataset,
    )
)
register(
    DatasetSource(
        name="cifar10",
        description="CIFAR-10: 32x32 colour images, 10 classes, 50000/10000",
        image_shape=(3, 32, 32),
        num_classes=10,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
        files=cifar.CIFAR10_FILES,
        layouts=("cifar-10-batches-py",),
        reader=cifar.read_cifar10,
    )
)
register(
    DatasetSource(
        name="cifar100",
        description="CIFAR-100: 32x32 colour images, 100 fine classes, 50000/10000",
        image_shape=(3, 32, 32),
        num_classes=100,
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
        files=cifar.CIFAR100_FILES,
        layouts=("cifar-100-python",),
        reader=cifar.read_cifar100,
    )
)
register(
    SyntheticSource(
        name="synthetic",
        description="generated smooth class prototypes plus noise (--synthetic-* options)",
        image_shape=(1, 28, 28),
        num_classes=10,
        mean=None,
        std=None,
    )
)
