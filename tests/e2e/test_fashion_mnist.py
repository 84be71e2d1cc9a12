"""End to end on real Fashion-MNIST (skipped only when its files are absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ticketlab.data import dataset_status

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(dataset_status("fashion-mnist") is None, reason="Fashion-MNIST files not installed"),
]


def test_lenet300_reaches_85_percent_in_two_epochs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli.subprocess(
        "train", "--model", "lenet300", "--dataset", "fashion-mnist", "--epochs", "2",
        "--runs-dir", str(tmp_path), "--device", "cpu", "--json",
    )
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["test_accuracy"] >= 0.85
    assert parsed["epochs"] == 2 and parsed["steps"] == 2 * 469  # ceil(60000 / 128)
    assert parsed["val_accuracy"] is None and parsed["sparsity"] == 0.0


def test_low_data_regime_with_validation_split(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli.subprocess(
        "train", "--dataset", "fashion-mnist", "--per-class", "50", "--val", "1000", "--sparsity", "0.9",
        "--epochs", "10", "--batch-size", "50", "--runs-dir", str(tmp_path), "--device", "cpu", "--json",
    )
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["steps"] == 10 * 10  # 10 classes x 50 examples / batch 50
    assert parsed["val_accuracy"] is not None and parsed["val_accuracy"] > 0.3
    assert parsed["sparsity"] == pytest.approx(0.9, abs=1e-3)


def test_imc_on_lenet300_finds_its_gap_from_the_real_hessian(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli.subprocess(
        "imc", "--model", "lenet300", "--dataset", "fashion-mnist", "--epochs", "1", "--hessian-per-class", "10",
        "--eigenpairs", "20", "--smallest", "4", "--lanczos-steps", "200", "--keep", "slow", "--sparsity", "0.9",
        "--runs-dir", str(tmp_path), "--device", "cpu", "--json",
    )
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["d"] == 784 * 300 + 300 * 100 + 100 * 10
    block = parsed["spectrum"][0]
    # The top of the spectrum is resolved (and positive) and the count follows the rule.
    assert block["largest"] > 0 and block["lanczos_steps"] <= 200
    if parsed["condition_held"]:
        assert parsed["d_minus_k"] == parsed["gap"]["index"]  # keep slow: d - k = N
    else:
        assert parsed["d_minus_k"] == round(0.1 * parsed["d"])
    assert parsed["test_accuracy"] > 0.75
