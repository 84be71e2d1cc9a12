"""Robustness evaluation: a model with a known answer, run directories, the command end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ticketlab.data import DataConfig, TensorSplit
from ticketlab.data.corruptions import CORRUPTIONS
from ticketlab.errors import CheckpointError
from ticketlab.masks import save_mask
from ticketlab.models.config import ModelConfig
from ticketlab.runs import Session, TrainingResult, TrainRunConfig, run_train
from ticketlab.runs.robustness import evaluate_robustness, find_units, run_robustness
from ticketlab.training import TrainConfig

FEW = ["--corruptions", "gaussian_noise,contrast,pixelate", "--severities", "1,5"]


class MeanThreshold(nn.Module):
    """Class 1 when an image's mean pixel (in [0, 1] units) is above 0.5, else class 0."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (x * self.std + self.mean).mean(dim=(1, 2, 3)) - 0.5
        return torch.stack([-score, score], dim=1)


def test_evaluate_robustness_against_a_model_with_a_known_answer() -> None:
    # 25 flat 4x4 images at 0.015 + 0.04k: class 1 from k = 13 (0.535) on; k = 12 is 0.495.
    values = 0.015 + 0.04 * torch.arange(25, dtype=torch.float32)
    mean, std = 0.5, 0.25
    x = ((values.view(25, 1, 1, 1).expand(25, 1, 4, 4) - mean) / std).contiguous()
    test = TensorSplit(x, (values > 0.5).long(), torch.tensor([-mean / std]))
    result = evaluate_robustness(
        MeanThreshold(mean, std), test, (mean,), (std,),
        corruptions=["contrast", "brightness", "pixelate", "gaussian_blur"], batch_size=7,
    )
    assert result["clean_accuracy"] == 1.0
    assert result["corruptions"] == ["gaussian_blur", "contrast", "brightness", "pixelate"]  # registry order
    assert result["severities"] == [1, 2, 3, 4, 5] and result["seed"] == 0 and result["test_examples"] == 25
    # Flat images keep their mean under blur, contrast and pixelate.
    for name in ("gaussian_blur", "contrast", "pixelate"):
        assert result["accuracy"][name] == {str(s): 1.0 for s in range(1, 6)}
    # Brightness +c moves the class-0 images above 0.5 - c to class 1: 2, 3, 4, 5, 8 of them.
    expected = {"1": 23 / 25, "2": 22 / 25, "3": 21 / 25, "4": 20 / 25, "5": 17 / 25}
    assert result["accuracy"]["brightness"] == pytest.approx(expected)
    assert result["mean_accuracy"]["brightness"] == pytest.approx(103 / 125)
    assert result["mean_corrupted_accuracy"] == pytest.approx((3 + 103 / 125) / 4)


# ---- real run directories ----------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    """A tiny masked training run on synthetic 1x8x8 data (one epoch)."""
    config = TrainRunConfig(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=200, synthetic_test=100),
        model=ModelConfig(model="lenet300", width=0.1),
        train=TrainConfig(duration="1ep", batch_size=50),
        sparsity=0.5,
    )
    return run_train(config, runs_dir=tmp_path_factory.mktemp("runs"))


def copy_run(trained: TrainingResult, destination: Path) -> Path:
    shutil.copytree(trained.run_dir, destination)
    (destination / "robustness.json").unlink(missing_ok=True)
    return destination


def test_command_end_to_end_then_skips(trained: TrainingResult, tmp_path: Path, cli: Any) -> None:
    run_dir = copy_run(trained, tmp_path / Path(trained.run_dir).name)
    done = cli("robustness", str(run_dir), "--device", "cpu", *FEW)
    assert done.code == 0, done.err
    record = json.loads((run_dir / "robustness.json").read_text())
    assert record["clean_accuracy"] == json.loads((run_dir / "result.json").read_text())["test_accuracy"]
    assert record["corruptions"] == ["gaussian_noise", "contrast", "pixelate"]
    assert record["severities"] == [1, 5] and record["seed"] == 0 and record["test_examples"] == 100
    assert set(record["accuracy"]) == set(record["mean_accuracy"]) == set(record["corruptions"])
    for name, by_level in record["accuracy"].items():
        assert set(by_level) == {"1", "5"} and all(0.0 <= a <= 1.0 for a in by_level.values())
        assert record["mean_accuracy"][name] == pytest.approx(sum(by_level.values()) / 2)
    assert record["mean_corrupted_accuracy"] == pytest.approx(sum(record["mean_accuracy"].values()) / 3)
    assert record["run_dir"] == str(run_dir) and record["dataset"] == "synthetic" and record["model"] == "lenet300"
    assert record["sparsity"] == pytest.approx(trained.sparsity)
    assert len(record["model_sha256"]) == 64 and record["wall_seconds"] >= 0
    lines = done.out.splitlines()
    assert lines[0].split()[:4] == ["unit", "sparsity", "clean", "mean"] and "pixelate" in lines[0]
    assert lines[2].startswith(run_dir.name) and f"{100 * record['clean_accuracy']:.2f}%" in lines[2]
    assert str(run_dir / "robustness.json") in done.out

    stamp = (run_dir / "robustness.json").stat().st_mtime_ns
    again = cli("robustness", str(run_dir), "--device", "cpu", *FEW, "--json")
    assert again.code == 0 and "already evaluated" in again.err
    assert (run_dir / "robustness.json").stat().st_mtime_ns == stamp
    assert json.loads(again.out) == [record]
    # Another seed is another evaluation: the file is rewritten; the clean accuracy stays.
    other = cli("robustness", str(run_dir), "--device", "cpu", *FEW, "--seed", "3", "--quiet")
    assert other.code == 0 and other.err == ""
    rewritten = json.loads((run_dir / "robustness.json").read_text())
    assert rewritten["seed"] == 3 and rewritten["clean_accuracy"] == record["clean_accuracy"]
    # Deterministic corruptions do not depend on the seed.
    assert rewritten["accuracy"]["contrast"] == record["accuracy"]["contrast"]


def test_every_corruption_and_severity_by_default(trained: TrainingResult, tmp_path: Path) -> None:
    run_dir = copy_run(trained, tmp_path / "run")
    [record] = run_robustness(tmp_path, session=Session())
    assert record["corruptions"] == CORRUPTIONS.names()
    assert record["severities"] == [1, 2, 3, 4, 5]
    assert all(len(levels) == 5 for levels in record["accuracy"].values())
    assert json.loads((run_dir / "robustness.json").read_text()) == record


def test_lottery_layout_units_share_the_top_config(trained: TrainingResult, tmp_path: Path) -> None:
    lottery = tmp_path / "lottery-0123456789abcdef"
    lottery.mkdir()
    shutil.copy(Path(trained.run_dir) / "config.json", lottery / "config.json")
    units = ["level-0", "level-1", "level-1/branch-random-reinit", "level-2", "level-10"]
    for name in units:
        (lottery / name).mkdir(parents=True)
        shutil.copy(Path(trained.run_dir) / "model_final.pt", lottery / name / "model_final.pt")
        if name != "level-0":
            shutil.copy(Path(trained.run_dir) / "mask.npz", lottery / name / "mask.npz")
    (lottery / "model_init.pt").write_bytes(b"not a unit")
    assert find_units(lottery) == [lottery / name for name in units]
    assert find_units(lottery / "level-1") == [lottery / "level-1", lottery / "level-1/branch-random-reinit"]
    records = run_robustness(lottery, corruptions=["contrast"], severities=[2], session=Session())
    assert [r["run_dir"] for r in records] == [str(lottery / name) for name in units]
    assert [r["sparsity"] for r in records] == [None, *[pytest.approx(trained.sparsity)] * 4]
    assert all(r["config_path"] == str(lottery / "config.json") for r in records)
    # The same weights and the same corrupted images give the same numbers everywhere.
    assert len({json.dumps([r["clean_accuracy"], r["accuracy"]]) for r in records}) == 1
    assert records[0]["clean_accuracy"] == trained.test_accuracy


def test_the_mask_is_applied(trained: TrainingResult, tmp_path: Path) -> None:
    run_dir = copy_run(trained, tmp_path / "run")
    # Pruning the whole classifier leaves its bias: every example gets the same class.
    state = torch.load(run_dir / "model_final.pt", weights_only=True)["state"]["model"]
    save_mask(run_dir / "mask.npz", {"fc3.weight": torch.zeros_like(state["fc3.weight"], dtype=torch.bool)})
    [record] = run_robustness(run_dir, corruptions=["contrast"], severities=[1], session=Session())
    labels = _test_labels(trained)
    constant = int(state["fc3.bias"].argmax())
    assert record["sparsity"] == 1.0
    assert record["clean_accuracy"] == pytest.approx(float((labels == constant).float().mean()))
    assert record["accuracy"]["contrast"]["1"] == record["clean_accuracy"]


def _test_labels(trained: TrainingResult) -> torch.Tensor:
    from ticketlab.data import load_data
    from ticketlab.runs import load_config

    return load_data(load_config(trained.run_dir, TrainRunConfig).data).test.y


# ---- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--corruptions", "fog"], "unknown corruption 'fog'"),
        (["--corruptions", ","], "at least one"),
        (["--severities", "0"], "1..5"),
        (["--severities", "2,6"], "1..5"),
        (["--severities", "two"], "integers"),
        (["--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_options_exit_2_with_one_line(trained: TrainingResult, cli: Any, options: list[str], message: str) -> None:
    done = cli("robustness", trained.run_dir, "--device", "cpu", *options)
    assert done.code == 2 and message in done.err and len(done.err.strip().splitlines()) == 1


def test_missing_and_corrupt_files_exit_2_with_one_line(trained: TrainingResult, tmp_path: Path, cli: Any) -> None:
    def fails(path: Path, message: str) -> None:
        done = cli("robustness", str(path), "--device", "cpu", *FEW)
        assert done.code == 2 and message in done.err, done.err
        assert len(done.err.strip().splitlines()) == 1

    fails(tmp_path / "nowhere", "is not a directory")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "no model_final.pt")

    truncated = copy_run(trained, tmp_path / "truncated")
    data = (truncated / "model_final.pt").read_bytes()
    (truncated / "model_final.pt").write_bytes(data[: len(data) // 2])
    fails(truncated, "truncated or corrupt")

    no_config = copy_run(trained, tmp_path / "no-config" / "run")
    (no_config / "config.json").unlink()
    fails(no_config, "no config.json")

    bad_config = copy_run(trained, tmp_path / "bad-config")
    (bad_config / "config.json").write_text("{not json")
    fails(bad_config, "not valid JSON")

    bad_mask = copy_run(trained, tmp_path / "bad-mask")
    (bad_mask / "mask.npz").write_bytes(b"PK\x03\x04 broken")
    fails(bad_mask, "mask file")

    other_run = copy_run(trained, tmp_path / "other-run")
    record = json.loads((other_run / "config.json").read_text())
    record["hash"] = "0" * 16
    (other_run / "config.json").write_text(json.dumps(record))
    fails(other_run, "belongs to another run")

    wrong_model = copy_run(trained, tmp_path / "wrong-model")
    record = json.loads((wrong_model / "config.json").read_text())
    record["config"]["model"]["width"] = 0.2
    (wrong_model / "config.json").write_text(json.dumps(record))
    fails(wrong_model, "does not fit")


def test_api_errors_are_ticketlab_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a directory"):
        find_units(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="no model_final.pt"):
        run_robustness(tmp_path, session=Session())


def test_test_subset_is_stratified_and_shared(trained: TrainingResult, tmp_path: Path, cli: Any) -> None:
    run_dir = copy_run(trained, tmp_path / "subset")
    done = cli("robustness", str(run_dir), "--device", "cpu", *FEW, "--test-subset", "50", "--json")
    assert done.code == 0, done.err
    record = json.loads((run_dir / "robustness.json").read_text())
    assert record["test_examples"] == 50 and record["test_subset"] == 50
    # A different subset size is a different evaluation, not a skip.
    again = cli("robustness", str(run_dir), "--device", "cpu", *FEW, "--test-subset", "60")
    assert again.code == 0 and json.loads((run_dir / "robustness.json").read_text())["test_examples"] == 60
    bad = cli("robustness", str(run_dir), "--test-subset", "0")
    assert bad.code == 2 and "--test-subset" in bad.err
