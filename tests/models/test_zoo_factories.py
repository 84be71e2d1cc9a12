"""A torchvision or timm model through a two-line factory in the user's own file.

ticketlab depends on neither package (PyPI's torchvision does not load beside the CPU
torch wheel the development machines use), so these tests run where they import and are
skipped elsewhere; the factory shape they use is the one the README shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ticketlab.cli.main import main

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "3x32x32", "--synthetic-train", "20",
             "--synthetic-test", "10", "--epochs", "0", "--device", "cpu", "--quiet", "--json"]

FACTORIES = {
    "torchvision": "import torchvision\n"
                   "def make(num_classes): return torchvision.models.resnet18(num_classes=num_classes)\n",
    "timm": "import timm\n"
            "def make(num_classes): return timm.create_model('resnet18', num_classes=num_classes)\n",
}


@pytest.mark.parametrize("package", sorted(FACTORIES))
def test_a_two_line_factory_builds_trains_and_prunes(package: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip(package)
    factory = tmp_path / "zoo.py"
    factory.write_text(FACTORIES[package])
    args = ["prune", "--model", f"{factory}:make", "--method", "magnitude", "--sparsity", "0.5", *SYNTHETIC,
            "--runs-dir", str(tmp_path / "runs")]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    # Every Conv2d and Linear weight is prunable by default, and half of them are kept.
    assert result["kept"] == round(0.5 * result["total"])
    assert any(row["name"] == "fc.weight" for row in result["layers"])
