"""Batches: order and augmentation are pure functions of (seed, epoch[, batch])."""

from __future__ import annotations

import pytest
import torch

from ticketlab.data import TensorSplit, eval_batches, num_batches, train_batches
from ticketlab.data.batches import augment_batch, crop, flip
from ticketlab.data.load import make_split


def identity_split(n: int = 10, shape: tuple[int, int, int] = (2, 3, 4)) -> TensorSplit:
    """Each image is filled with its own index, so a batch reveals which examples it holds."""
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, *shape).contiguous()
    return TensorSplit(x, torch.arange(n), torch.zeros(shape[0]))


def textured_split(n: int = 13) -> TensorSplit:
    x = torch.randn(n, 2, 5, 6, generator=torch.Generator().manual_seed(0))
    return TensorSplit(x, torch.arange(n), torch.tensor([-1.5, 2.5]))


@pytest.mark.parametrize(("n", "batch", "expected"), [(10, 3, 4), (9, 3, 3), (1, 5, 1), (0, 4, 0)])
def test_num_batches(n: int, batch: int, expected: int) -> None:
    assert num_batches(n, batch) == expected


def test_order_covers_everything_keeps_last_partial_batch() -> None:
    batches = list(train_batches(identity_split(), 3, seed=0, epoch=0))
    assert [len(y) for _, y in batches] == [3, 3, 3, 1]
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == list(range(10))
    for x, y in batches:  # images travel with their labels
        assert torch.equal(x[:, 0, 0, 0].long(), y)


def test_order_is_a_pure_function_of_seed_and_epoch() -> None:
    def order(seed: int, epoch: int) -> list[int]:
        split = identity_split(50)
        return torch.cat([y for _, y in train_batches(split, 8, seed=seed, epoch=epoch)]).tolist()

    assert order(1, 2) == order(1, 2)
    assert order(1, 2) != order(1, 3)
    assert order(1, 2) != order(2, 2)


@pytest.mark.parametrize("augment", ["none", "flip", "crop", "crop+flip"])
@pytest.mark.parametrize("start", [0, 1, 3, 5])
def test_resume_gives_exactly_the_tail(augment: str, start: int) -> None:
    split = textured_split()
    kwargs = dict(seed=7, epoch=4, augment=augment, crop_padding=2)
    full = list(train_batches(split, 3, **kwargs))
    tail = list(train_batches(split, 3, start_batch=start, **kwargs))
    assert len(tail) == len(full) - start
    for (xa, ya), (xb, yb) in zip(full[start:], tail, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_augmentation_changes_images_but_not_labels() -> None:
    split = textured_split(64)
    plain = list(train_batches(split, 16, seed=1, epoch=0))
    augmented = list(train_batches(split, 16, seed=1, epoch=0, augment="crop+flip"))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(plain, augmented, strict=True))
    assert any(not torch.equal(a[0], b[0]) for a, b in zip(plain, augmented, strict=True))
    again = list(train_batches(split, 16, seed=1, epoch=0, augment="crop+flip"))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(augmented, again, strict=True))


def test_flip_hand_computed() -> None:
    image = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])  # 1x2x3
    x = torch.stack([image, image])
    out = flip(x, torch.tensor([True, False]))
    assert out[0].tolist() == [[[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]]
    assert out[1].tolist() == image.tolist()


def test_crop_hand_computed() -> None:
    image = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [0.0, 1.0, 2.0]]])
    x = torch.stack([image] * 3)  # 3 images of 2x2x3
    pad = torch.tensor([-1.0, -2.0])  # per channel
    out = crop(x, torch.tensor([[0, 0], [1, 1], [2, 1]]), 1, pad)
    p, q = -1.0, -2.0
    assert out[0].tolist() == [[[p, p, p], [p, 1.0, 2.0]], [[q, q, q], [q, 7.0, 8.0]]]
    assert out[1].tolist() == image.tolist()  # offset (padding, padding): unchanged
    assert out[2].tolist() == [[[4.0, 5.0, 6.0], [p, p, p]], [[0.0, 1.0, 2.0], [q, q, q]]]


def test_crop_offsets_cover_every_position() -> None:
    x = torch.arange(9, dtype=torch.float32).view(1, 1, 3, 3).expand(900, 1, 3, 3)
    out = augment_batch(x, torch.tensor([-1.0]), "crop", 1, seed=0, epoch=0, batch=0)
    crops, counts = torch.unique(out.flatten(1), dim=0, return_counts=True)
    assert len(crops) == 9  # offsets 0..2 in both directions
    assert counts.min() > 60  # about 100 each


def test_padding_is_raw_zero_after_normalisation() -> None:
    raw = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    labels = torch.zeros(1, dtype=torch.int64)
    split = make_split(raw, labels, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3), "cpu")
    assert torch.equal(split.x[0, :, 0, 0], split.pad_value)
    out = augment_batch(split.x, split.pad_value, "crop", 3, seed=0, epoch=0, batch=0)
    assert torch.equal(out, split.x)  # a black image stays black under any crop


def test_eval_batches_in_order_without_augmentation() -> None:
    split = identity_split(7)
    batches = list(eval_batches(split, 3))
    assert [y.tolist() for _, y in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert torch.equal(torch.cat([x for x, _ in batches]), split.x)


def test_bad_arguments() -> None:
    split = identity_split()
    with pytest.raises(ValueError, match="augment"):
        train_batches(split, 3, seed=0, epoch=0, augment="rotate")
    with pytest.raises(ValueError, match="start_batch"):
        train_batches(split, 3, seed=0, epoch=0, start_batch=5)
    assert list(train_batches(split, 3, seed=0, epoch=0, start_batch=4)) == []
    with pytest.raises(ValueError, match="batch_size"):
        num_batches(10, 0)
