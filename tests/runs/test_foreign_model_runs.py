"""Your own model through the command line: train, prune, lottery, strong, sweep; config.json's source record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ticketlab.errors import ConfigError
from ticketlab.models import ModelConfig
from ticketlab.runs import TrainRunConfig
from ticketlab.runs.store import RunDirectory

SOURCE = '''
import torch
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, c, h, w, num_classes, hidden):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(c, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        )
        self.classifier = nn.Linear(hidden * (h // 2) * (w // 2), num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


class Gain(nn.Module):
    """A learnable scalar: a module with parameters the effective pass cannot analyse."""

    def __init__(self):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.g * x


def small_cnn(input_shape, num_classes, hidden=2):
    c, h, w = input_shape
    return SmallCNN(c, h, w, num_classes, hidden)


def gained_mlp(input_shape, num_classes, hidden=6):
    c, h, w = input_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), Gain(), nn.ReLU(), nn.Linear(hidden, num_classes))


def mlp(input_shape, num_classes, hidden=6):
    c, h, w = input_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def no_layers(input_shape, num_classes):
    return nn.Sequential(nn.Flatten(), Gain())
'''

DATA = ["--dataset", "synthetic", "--synthetic-shape", "1x8x8", "--synthetic-train", "60", "--synthetic-test", "30",
        "--batch-size", "30", "--device", "cpu"]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "mymodels.py"
    path.write_text(SOURCE)
    return path


def run_json(cli: Any, *args: str) -> dict[str, Any]:
    result = cli(*args, *DATA, "--json", "--quiet")
    assert result.code == 0, result.err
    return json.loads(result.out)


def one_line_error(cli: Any, *args: str) -> str:
    result = cli(*args)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    return result.err


def test_train_records_spec_args_and_source_sha(cli: Any, models: Path, tmp_path: Path) -> None:
    spec = f"{models}:small_cnn"
    result = run_json(cli, "train", "--model", spec, "--model-arg", "hidden=3", "--epochs", "1",
                      "--runs-dir", str(tmp_path / "runs"))
    record = json.loads((Path(result["run_dir"]) / "config.json").read_text())
    assert record["config"]["model"]["model"] == spec and record["config"]["model"]["model_args"] == ["hidden=3"]
    assert record["model_source"] == {"path": str(models.resolve()),
                                      "sha256": hashlib.sha256(models.read_bytes()).hexdigest()}
    # conv 1->3 (27 + 3), classifier 3*4*4 -> 10 (480 + 10), by hand.
    assert result["parameters"] == 520 and result["total"] == 27 + 480
    other = run_json(cli, "train", "--model", spec, "--model-arg", "hidden=2", "--epochs", "1",
                     "--runs-dir", str(tmp_path / "runs"))
    assert other["hash"] != result["hash"] and other["parameters"] == 2 * 9 + 2 + 2 * 16 * 10 + 10


def test_a_changed_source_stops_an_unfinished_run(models: Path, tmp_path: Path) -> None:
    config = TrainRunConfig(model=ModelConfig(model=f"{models}:small_cnn"))
    run = RunDirectory(tmp_path, config)
    run.prepare()
    record = json.loads(run.config_path.read_text())
    run.prepare()  # unchanged: fine
    models.write_text(SOURCE + "\n# edited\n")
    with pytest.raises(ConfigError, match="changed since"):
        RunDirectory(tmp_path, config).prepare()
    # A config.json written before model_source existed still resumes, and gains the record.
    del record["model_source"]
    run.config_path.write_text(json.dumps(record))
    RunDirectory(tmp_path, config).prepare()
    assert json.loads(run.config_path.read_text())["model_source"]["sha256"] == hashlib.sha256(
        models.read_bytes()).hexdigest()


def test_prune_to_an_effective_target(cli: Any, models: Path, tmp_path: Path) -> None:
    result = run_json(cli, "prune", "--model", f"{models}:small_cnn", "--method", "magnitude", "--quota", "global",
                      "--sparsity", "0.6", "--target", "effective", "--epochs", "1", "--runs-dir", str(tmp_path))
    assert abs(result["effective_sparsity"] - 0.6) < 0.02 and result["effective_sparsity"] >= result["sparsity"]
    again = cli("effective", result["run_dir"], "--json")  # an independent pass over the saved mask
    assert again.code == 0 and json.loads(again.out)["effective_sparsity"] == result["effective_sparsity"]
    assert [row["name"] for row in result["layers"]] == ["features.0.weight", "classifier.weight"]
    assert all(row["effective_kept"] <= row["kept"] for row in result["layers"])


def test_effective_sparsity_unavailable_when_a_module_cannot_be_analysed(cli: Any, models: Path,
                                                                         tmp_path: Path) -> None:
    spec = f"{models}:gained_mlp"
    args = ["prune", "--model", spec, "--method", "magnitude", "--quota", "uniform", "--sparsity", "0.5",
            "--epochs", "1", "--runs-dir", str(tmp_path)]
    result = run_json(cli, *args)
    assert result["effective_sparsity"] is None and result["effective_kept"] is None
    assert result["disconnected"] is None and result["sparsity"] == 0.5
    # Uniform at 50%: 64*6 -> 192 kept, 6*10 -> 30 kept, by hand.
    assert [(row["kept"], row["effective_kept"]) for row in result["layers"]] == [(192, None), (30, None)]
    table = cli(*args, *DATA)
    assert table.code == 0 and "effective -" in table.out
    lottery = run_json(cli, "lottery", "--model", spec, "--levels", "1", "--branches", "random-prune",
                       "--epochs", "1", "--runs-dir", str(tmp_path))
    assert all(row["effective_sparsity"] is None for row in lottery["levels"])
    assert "cannot linearise module '2'" in one_line_error(cli, "effective", result["run_dir"])
    assert "cannot linearise" in one_line_error(cli, *args[:-2], "--target", "effective", *DATA,
                                                "--runs-dir", str(tmp_path / "other"), "--quiet")


def test_lottery_with_patterns(cli: Any, models: Path, tmp_path: Path) -> None:
    result = run_json(cli, "lottery", "--model", f"{models}:small_cnn", "--levels", "1", "--branches", "random-prune",
                      "--prunable", "!classifier", "--epochs", "1", "--runs-dir", str(tmp_path))
    level_one = [row for row in result["levels"] if row["level"] == 1]
    assert level_one and all(row["effective_sparsity"] is not None for row in result["levels"])
    mask = Path(result["run_dir"]) / "level-1" / "mask.npz"
    import numpy as np

    with np.load(mask) as arrays:
        assert sorted(arrays.files) == ["features.0.weight"]  # only the conv: the classifier is excluded


def test_strong_on_a_trained_foreign_target(cli: Any, models: Path, tmp_path: Path) -> None:
    trained = run_json(cli, "train", "--model", f"{models}:mlp", "--model-arg", "hidden=4", "--epochs", "1",
                       "--runs-dir", str(tmp_path))
    result = cli("strong", "--target", trained["run_dir"], "--construction", "cunha", "--runs-dir", str(tmp_path),
                 "--json", "--quiet")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["construction"] == "cunha" and parsed["target_test_accuracy"] == pytest.approx(
        trained["test_accuracy"])


def test_sweep_over_model_args(cli: Any, models: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "mine.toml"
    sweep.write_text(
        f'name = "mine"\ncommand = "train"\n[base]\nmodel = "{models}:small_cnn"\ndataset = "synthetic"\n'
        'synthetic_shape = "1x8x8"\nsynthetic_train = 60\nsynthetic_test = 30\nbatch_size = 30\nepochs = 1\n'
        '[grid]\nmodel_args = [["hidden=1"], ["hidden=2"]]\n'
    )
    result = cli("sweep", str(sweep), "--runs-dir", str(tmp_path), "--device", "cpu", "--quiet")
    assert result.code == 0, result.err
    configs = [json.loads(p.read_text())["config"]["model"]["model_args"] for p in tmp_path.glob("train-*/config.json")]
    assert sorted(configs) == [["hidden=1"], ["hidden=2"]]


@pytest.mark.parametrize(("name", "extra", "fragment"), [
    ("no_layers", [], "no Conv2d or Linear layer to prune"),
    ("small_cnn", ["--prunable", "linear,features.*"], "leaves no parameter to prune"),
    ("raises", [], "has no attribute 'raises'"),
])
def test_one_line_errors(cli: Any, models: Path, tmp_path: Path, name: str, extra: list[str], fragment: str) -> None:
    err = one_line_error(cli, "prune", "--model", f"{models}:{name}", *extra, "--sparsity", "0.5", "--epochs", "0",
                         *DATA, "--runs-dir", str(tmp_path), "--quiet")
    assert fragment in err


def test_factory_failures_and_unknown_names(cli: Any, models: Path, tmp_path: Path) -> None:
    models.write_text(SOURCE + "\ndef broken(num_classes):\n    raise RuntimeError('bad shape')\n"
                      "\ndef number(input_shape):\n    return 3\n")
    for name, fragment in (("broken", "the factory raised RuntimeError: bad shape"),
                           ("number", "returned int, not an nn.Module")):
        err = one_line_error(cli, "train", "--model", f"{models}:{name}", "--epochs", "0", *DATA,
                             "--runs-dir", str(tmp_path), "--quiet")
        assert fragment in err and f"{models}:{name}" in err
    err = one_line_error(cli, "train", "--model", "nope", *DATA, "--runs-dir", str(tmp_path), "--quiet")
    assert "unknown model 'nope'; choose from: lenet300" in err
    err = one_line_error(cli, "train", "--model", f"{models}:mlp", "--model-arg", "depth=2", "--epochs", "0", *DATA,
                         "--runs-dir", str(tmp_path), "--quiet")
    assert "has no parameter 'depth'" in err
