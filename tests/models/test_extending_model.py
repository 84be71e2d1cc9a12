"""A new model is one builder and one registry line: then every command can build it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from torch import nn

from ticketlab.cli.main import main
from ticketlab.models import MODELS


def tiny_mlp(input_shape: tuple[int, int, int], num_classes: int, width: float) -> nn.Module:
    """Flatten, a hidden layer of 8 * width units, the classifier."""
    c, h, w = input_shape
    hidden = max(1, round(8 * width))
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    with MODELS.registered("tiny-mlp", tiny_mlp, "a model registered by a test"):
        yield


def test_a_registered_model_is_listed_pruned_and_trained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--shape", "1x6x6"]) == 0
    listing = capsys.readouterr().out
    # 36*8 + 8 + 8*10 + 10 parameters, by hand.
    assert "tiny-mlp" in listing and "386" in listing and "a model registered by a test" in listing
    args = ["prune", "--model", "tiny-mlp", "--dataset", "synthetic", "--synthetic-shape", "1x6x6",
            "--synthetic-train", "100", "--synthetic-test", "50", "--method", "magnitude", "--quota", "uniform",
            "--sparsity", "0.5", "--epochs", "1", "--runs-dir", str(tmp_path), "--json", "--quiet", "--device", "cpu"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    layers = {row["name"]: (row["shape"], row["kept"], row["total"]) for row in result["layers"]}
    # Uniform at 50%: half of each weight matrix, by hand.
    assert layers == {"1.weight": ([8, 36], 144, 288), "3.weight": ([10, 8], 40, 80)}
    assert result["kept"] == 184 and result["total"] == 368 and result["epochs"] == 1
    assert json.loads((Path(result["run_dir"]) / "config.json").read_text())["config"]["model"]["model"] == "tiny-mlp"
