"""``--explain``: per-entry errors against the range each entry's candidates can reach."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ticketlab.masks import load_mask
from ticketlab.runs import TrainingResult
from ticketlab.strong.construct import construct
from ticketlab.strong.explain import explain
from ticketlab.strong.metrics import weight_errors
from ticketlab.strong.record import LayerApproximation, Reach
from ticketlab.strong.subset_sum import solve_subset_sum


def tensor(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# Every entry gets the candidates 0.25, 0.5, -0.5: they reach [-0.5, 0.75] (width 1.25,
# so 5% of it is 0.0625). 3.0 and -2.0 lie outside; 0.7 is within 0.0625 of 0.75.
WEIGHT = tensor([[0.5, 3.0], [-2.0, 0.7]])
CANDIDATES = tensor([0.25, 0.5, -0.5]).expand(4, 3).reshape(2, 2, 3)


def record(scale: float = 1.0) -> LayerApproximation:
    valid = torch.ones(CANDIDATES.shape, dtype=torch.bool)
    solved = solve_subset_sum((WEIGHT * scale).flatten(), CANDIDATES.reshape(4, 3))
    estimate = solved.sums.view(2, 2) / scale
    return LayerApproximation("fc", WEIGHT, None, [estimate], [], [Reach.of(CANDIDATES, valid, scale)])


def test_counts_and_ranges_of_a_hand_made_instance() -> None:
    (row,) = explain([record()], worst=4)
    assert row["tensor"] == "fc.weight" and row["entries"] == 4 and row["copies"] == 1 and row["covered"]
    assert row["outside"] == 2 and row["near_edge"] == 1
    # Best sums: 0.5 -> 0.5, 3.0 -> 0.75, -2.0 -> -0.5, 0.7 -> 0.75.
    errors = np.array([0.0, 2.25, 1.5, 0.05])
    assert row["max_error"] == pytest.approx(2.25) and row["max_rel_error"] == pytest.approx(2.25 / 3.0)
    assert row["median_error"] == pytest.approx(float(np.median(errors)))
    assert row["p99_error"] == pytest.approx(float(np.quantile(errors, 0.99)))
    first, second = row["worst"][:2]
    assert first["index"] == [0, 1] and first["target"] == 3.0 and first["estimate"] == pytest.approx(0.75)
    assert (first["low"], first["high"]) == (pytest.approx(-0.5), pytest.approx(0.75))
    assert first["gap"] == pytest.approx(2.25) and first["error"] >= first["gap"]
    assert second["index"] == [1, 0] and second["gap"] == pytest.approx(1.5)
    assert first["spread"] == pytest.approx(float(np.std([0.25, 0.5, -0.5])))
    assert row["worst"][3]["gap"] == 0.0


def test_a_negative_part_reports_its_range_in_weight_units() -> None:
    # Targets -w with the same candidates: w itself is reachable in [-0.75, 0.5].
    (row,) = explain([record(-1.0)], worst=1)
    worst = row["worst"][0]
    assert (worst["low"], worst["high"]) == (pytest.approx(-0.75), pytest.approx(0.5))
    assert row["outside"] == 3  # 3.0, -2.0 and 0.7 (> 0.5)
    assert row["near_edge"] == 1  # 0.5 sits on the upper edge


def test_without_recorded_instances_only_the_errors_are_reported() -> None:
    plain = LayerApproximation("fc", WEIGHT, None, [WEIGHT + 0.125])
    (row,) = explain([plain])
    assert not row["covered"] and row["outside"] is None and "low" not in row["worst"][0]
    assert row["max_error"] == 0.125


@pytest.mark.parametrize("name", ["cunha", "burkholz-2l", "burkholz-l1"])
def test_every_estimate_lies_in_its_recorded_range(name: str) -> None:
    torch.manual_seed(0)
    target = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    built = construct(target, (1, 2, 2), construction=name, n=6)
    rows = explain(built.approximations)
    measured = {row["tensor"]: row["max_rel_error"] for row in weight_errors(built)}
    assert all(row["max_rel_error"] == measured[row["tensor"]] for row in rows)
    for approximation, row in zip(built.approximations, rows, strict=True):
        assert row["covered"] and row["max_rel_error"] == approximation.relative_weight_error
        for estimate, reach in zip(approximation.weight_estimates, approximation.weight_reach, strict=True):
            assert reach.low.shape == estimate.shape
            assert bool((estimate >= reach.low - 1e-12).all() and (estimate <= reach.high + 1e-12).all())
            assert bool((reach.spread >= 0).all())


def test_cli_explain_matches_the_plain_run(cli, trained: TrainingResult, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ["strong", "--target", trained.run_dir, "--construction", "cunha", "--n", "10",
            "--runs-dir", str(tmp_path), "--json"]
    plain = cli(*base)
    assert plain.code == 0, plain.err
    explained = cli(*base, "--explain")
    assert explained.code == 0, explained.err
    without, with_ = json.loads(plain.out), json.loads(explained.out)
    assert without["explain"] is None and with_["run_dir"] != without["run_dir"]
    assert with_["weight_errors"] == without["weight_errors"]
    assert with_["max_rel_weight_error"] == without["max_rel_weight_error"]
    masks = load_mask(Path(with_["run_dir"]) / "mask.npz"), load_mask(Path(without["run_dir"]) / "mask.npz")
    assert masks[0].keys() == masks[1].keys() and all(np.array_equal(masks[0][k], masks[1][k]) for k in masks[0])
    weights = {row["tensor"]: row["max_rel_error"] for row in with_["weight_errors"]}
    section = with_["explain"]
    assert [row["tensor"] for row in section] == [t for t in weights if t.endswith(".weight")]
    for row in section:
        assert row["covered"] and row["max_rel_error"] == weights[row["tensor"]]
        assert row["median_rel_error"] <= row["p99_rel_error"] <= row["max_rel_error"]
    on_disk = json.loads((Path(with_["run_dir"]) / "result.json").read_text())
    assert on_disk["explain"] == section
    assert "outside range" in explained.err and "near edge" in explained.err


def test_center_and_width_are_the_mean_and_std_of_all_subset_sums() -> None:
    import itertools

    sums = [sum(c for c, keep in zip((0.25, 0.5, -0.5), bits, strict=True) if keep)
            for bits in itertools.product((0, 1), repeat=3)]
    mean, std = float(np.mean(sums)), float(np.std(sums))  # brute force over the 8 subsets
    reach = Reach.of(CANDIDATES, torch.ones(CANDIDATES.shape, dtype=torch.bool), 1.0)
    assert torch.allclose(reach.center, torch.full((2, 2), mean, dtype=torch.float64))
    assert torch.allclose(reach.width, torch.full((2, 2), std, dtype=torch.float64))
    (row,) = explain([record()], worst=1)
    assert row["worst"][0]["z"] == pytest.approx((3.0 - mean) / std)
    assert row["max_abs_z"] == pytest.approx((3.0 - mean) / std)
    # In weight units: a part of scale -2 approximates -2 w, so its range and spread halve.
    halved = Reach.of(CANDIDATES, torch.ones(CANDIDATES.shape, dtype=torch.bool), -2.0)
    assert torch.allclose(halved.center, torch.full((2, 2), -mean / 2, dtype=torch.float64))
    assert torch.allclose(halved.width, torch.full((2, 2), std / 2, dtype=torch.float64))
