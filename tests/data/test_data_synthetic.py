"""Synthetic data: any shape, deterministic, and learnable by a tiny model."""

from __future__ import annotations

import torch

from ticketlab.data import DataConfig, load_data, train_batches
from ticketlab.data.synthetic import make_synthetic
from ticketlab.seeding import seeded


def test_any_shape_and_class_count() -> None:
    raw = make_synthetic((3, 7, 5), 4, 30, 10)
    assert raw.train_images.shape == (30, 3, 7, 5) and raw.train_images.dtype == torch.uint8
    assert raw.test_images.shape == (10, 3, 7, 5)
    assert torch.bincount(raw.train_labels).tolist() == [8, 8, 7, 7]  # balanced


def test_same_seed_same_data() -> None:
    a = make_synthetic((1, 8, 8), 3, 50, 20, seed=5)
    b = make_synthetic((1, 8, 8), 3, 50, 20, seed=5)
    c = make_synthetic((1, 8, 8), 3, 50, 20, seed=6)
    for field in ("train_images", "train_labels", "test_images", "test_labels"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.train_images, c.train_images)


def test_train_and_test_share_classes_but_not_examples() -> None:
    raw = make_synthetic((1, 6, 6), 2, 40, 40)
    assert not torch.equal(raw.train_images, raw.test_images)


def test_load_computes_normalisation_from_train_split() -> None:
    options = dict(
        dataset="synthetic",
        synthetic_shape="2x6x6",
        synthetic_classes=3,
        synthetic_train=300,
        synthetic_test=60,
    )
    bundle = load_data(DataConfig(**options, val=30, per_class=20), roots=[])
    assert bundle.info.image_shape == (2, 6, 6) and bundle.info.num_classes == 3
    assert len(bundle.train) == 60 and len(bundle.val) == 30 and len(bundle.test) == 60
    assert bundle.info.location is None and len(bundle.info.mean) == 2
    everything = load_data(DataConfig(**options), roots=[])
    assert everything.info.mean == bundle.info.mean  # from the whole raw train split
    per_channel = everything.train.x.transpose(0, 1).flatten(1)
    assert per_channel.mean(1).abs().max() < 1e-4
    assert (per_channel.std(1, correction=0) - 1).abs().max() < 1e-4


def test_a_small_mlp_learns_it_well_above_chance() -> None:
    cfg = DataConfig(
        dataset="synthetic", synthetic_shape="1x12x12", synthetic_train=1000, synthetic_test=500
    )
    bundle = load_data(cfg, roots=[])
    with seeded(0):
        model = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(144, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
        )
        optimiser = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for epoch in range(3):
            for x, y in train_batches(bundle.train, 50, seed=0, epoch=epoch):
                optimiser.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                optimiser.step()
    with torch.no_grad():
        accuracy = (model(bundle.test.x).argmax(1) == bundle.test.y).float().mean().item()
    assert accuracy > 0.5, accuracy  # chance is 0.1
