"""effective_report: counts, sparsities, compressions, JSON safety and the table."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from ticketlab.masks import effective_report, format_effective_report, full_mask


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))


def test_numbers_of_a_hand_made_case() -> None:
    # Hidden unit 1 has no outgoing weight: its 3 incoming weights are dead.
    mask = {"0.weight": torch.ones(2, 3, dtype=torch.bool), "2.weight": torch.tensor([[True, False]])}
    report = effective_report(mlp(), mask, (3,))
    first, second = report.layers
    assert (first.name, first.shape, first.total, first.kept, first.effective_kept) == ("0.weight", (2, 3), 6, 6, 3)
    assert first.direct_sparsity == 0.0 and first.effective_sparsity == 0.5
    assert first.direct_compression == 1.0 and first.effective_compression == 2.0
    assert (second.total, second.kept, second.effective_kept) == (2, 1, 1)
    assert second.direct_sparsity == 0.5 == second.effective_sparsity
    assert second.direct_compression == 2.0 == second.effective_compression
    assert (report.total, report.kept, report.effective_kept) == (8, 7, 4)
    assert report.direct_sparsity == pytest.approx(1 / 8)
    assert report.effective_sparsity == 0.5
    assert report.direct_compression == pytest.approx(8 / 7)
    assert report.effective_compression == 2.0
    assert report.disconnected is False
    data = report.as_dict()
    assert {k: v for k, v in data.items() if k != "layers"} == {
        "total": 8, "kept": 7, "effective_kept": 4, "direct_sparsity": 1 / 8, "effective_sparsity": 0.5,
        "direct_compression": 8 / 7, "effective_compression": 2.0, "disconnected": False,
    }  # fmt: skip
    assert data["layers"][0] == {
        "name": "0.weight", "shape": [2, 3], "total": 6, "kept": 6, "effective_kept": 3,
        "direct_sparsity": 0.0, "effective_sparsity": 0.5, "direct_compression": 1.0,
        "effective_compression": 2.0,
    }  # fmt: skip
    table = format_effective_report(report)
    assert report.table() == table
    assert "0.weight" in table and "50.00%" in table and "total" in table
    assert "disconnected" not in table


def test_disconnected_network_and_infinite_compression() -> None:
    mask = {"0.weight": torch.ones(2, 3, dtype=torch.bool), "2.weight": torch.zeros(1, 2, dtype=torch.bool)}
    report = effective_report(mlp(), mask, (3,))
    assert report.disconnected is True
    assert report.effective_kept == 0 and report.effective_sparsity == 1.0
    assert math.isinf(report.effective_compression)
    assert math.isinf(report.layers[1].direct_compression)
    assert report.layers[0].direct_compression == 1.0
    data = report.as_dict()
    text = json.dumps(data, allow_nan=False)  # must not need Infinity
    assert data["effective_compression"] is None
    assert data["layers"][1]["direct_compression"] is None
    assert data["layers"][0]["effective_compression"] is None
    assert data["layers"][0]["direct_compression"] == 1.0
    assert data["disconnected"] is True and '"disconnected": true' in text
    table = format_effective_report(report, markdown=True)
    assert "inf" in table and "disconnected" in table and table.startswith("| layer")


def test_full_mask_report_is_all_active() -> None:
    model = mlp()
    report = effective_report(model, full_mask(model), (3,))
    assert report.effective_kept == report.kept == report.total == 8
    assert report.effective_sparsity == 0.0 and report.effective_compression == 1.0
