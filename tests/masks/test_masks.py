"""Mask selection, random masks with exact counts, reports and file round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.masks import (
    PrunableSpec,
    apply_mask,
    count_kept,
    full_mask,
    layer_report,
    load_mask,
    prunable_parameters,
    random_mask_like,
    save_mask,
    sparsity,
    uniform_random_mask,
)


def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 6),
        nn.ReLU(),
        nn.Linear(6, 3),
    )


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("conv,linear", ["0.weight", "3.weight", "5.weight", "7.weight"]),
        ("conv", ["0.weight", "3.weight"]),
        ("linear", ["5.weight", "7.weight"]),
        ("conv,linear,biases", ["0.weight", "0.bias", "3.weight", "5.weight", "5.bias", "7.weight", "7.bias"]),
        ("conv,linear,no-first", ["3.weight", "5.weight", "7.weight"]),
        ("conv,linear,no-last", ["0.weight", "3.weight", "5.weight"]),
        ("linear,no-first,no-last", ["5.weight"]),
    ],
)
def test_prunable_selection(spec: str, expected: list[str]) -> None:
    assert list(prunable_parameters(tiny_cnn(), PrunableSpec(spec))) == expected


def test_batchnorm_is_never_prunable() -> None:
    names = prunable_parameters(tiny_cnn(), PrunableSpec("conv,linear,biases"))
    assert not any(n.startswith("1.") for n in names)


def test_selection_that_leaves_nothing_is_an_error() -> None:
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ConfigError, match="leaves no parameter"):
        prunable_parameters(model, PrunableSpec("linear,no-first"))


@pytest.mark.parametrize("s", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_uniform_random_mask_has_exact_counts(s: float) -> None:
    template = full_mask(tiny_cnn())
    mask = uniform_random_mask(template, s, torch.Generator().manual_seed(0))
    for name, m in mask.items():
        n = template[name].numel()
        assert int(m.sum()) == round((1 - s) * n)
        assert m.dtype == torch.bool and m.shape == template[name].shape


def test_random_mask_is_seeded() -> None:
    template = full_mask(tiny_cnn())
    a = uniform_random_mask(template, 0.5, torch.Generator().manual_seed(3))
    b = uniform_random_mask(template, 0.5, torch.Generator().manual_seed(3))
    c = uniform_random_mask(template, 0.5, torch.Generator().manual_seed(4))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_random_mask_like_per_layer_densities() -> None:
    template = full_mask(tiny_cnn())
    densities = {"0.weight": 1.0, "3.weight": 0.0, "5.weight": 0.25, "7.weight": 0.5}
    mask = random_mask_like(template, densities, torch.Generator().manual_seed(0))
    assert [int(m.sum()) for m in mask.values()] == [27, 0, 150, 9]


@pytest.mark.parametrize("s", [1.0, -0.5, 1.5])
def test_sparsity_out_of_range(s: float) -> None:
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        uniform_random_mask(full_mask(tiny_cnn()), s, torch.Generator())


def test_apply_mask_zeroes_exactly_the_pruned_entries() -> None:
    model = tiny_cnn()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    mask = uniform_random_mask(full_mask(model), 0.5, torch.Generator().manual_seed(1))
    apply_mask(model, mask)
    params = dict(model.named_parameters())
    for name, m in mask.items():
        assert torch.all(params[name][~m] == 0)
        assert torch.equal(params[name][m], before[name][m])
    assert torch.equal(params["0.bias"], before["0.bias"])


def test_apply_mask_rejects_wrong_shapes() -> None:
    model = tiny_cnn()
    with pytest.raises(ConfigError, match="shape"):
        apply_mask(model, {"0.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ConfigError, match="not a parameter"):
        apply_mask(model, {"9.weight": torch.ones(2, dtype=torch.bool)})


def test_report_and_counts_by_hand() -> None:
    mask = {
        "a.weight": torch.tensor([[True, False], [False, False]]),
        "b.weight": torch.tensor([True, True, True, False, False, False]),
    }
    assert count_kept(mask) == (4, 10)
    assert sparsity(mask) == pytest.approx(0.6)
    rows = layer_report(mask)
    assert [(r.name, r.shape, r.kept, r.total) for r in rows] == [
        ("a.weight", (2, 2), 1, 4),
        ("b.weight", (6,), 3, 6),
    ]
    assert rows[1].density == 0.5


def test_save_and_load_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mask = uniform_random_mask(full_mask(tiny_cnn()), 0.7, torch.Generator().manual_seed(0))
    save_mask(tmp_path / "mask.npz", mask)
    loaded = load_mask(tmp_path / "mask.npz")
    assert list(loaded) == list(mask)
    assert all(torch.equal(loaded[k], mask[k]) for k in mask)
    # The file is plain numpy: readable without ticketlab.
    with np.load(tmp_path / "mask.npz") as raw:
        assert raw["0.weight"].dtype == np.bool_


def test_load_mask_errors_are_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    mask = full_mask(tiny_cnn())
    save_mask(tmp_path / "mask.npz", mask)
    data = (tmp_path / "mask.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_mask(tmp_path / "cut.npz")
    assert "\n" not in str(info.value) and "cut.npz" in str(info.value)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_mask(tmp_path / "missing.npz")
    np.savez(tmp_path / "floats.npz", w=np.ones(3))
    with pytest.raises(CheckpointError, match="not bool"):
        load_mask(tmp_path / "floats.npz")
