"""The command line: help for every option, listings, and one-line errors with status 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from ticketlab.cli.main import build_parser
from ticketlab.data import locate

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x6x6", "--synthetic-train", "100", "--synthetic-test", "50"]


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("name", sorted(subcommand_parsers()))
def test_every_option_explains_itself_and_its_default(name: str) -> None:
    parser = subcommand_parsers()[name]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        is_flag = isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction))
        if action.option_strings and not is_flag and not action.required:
            assert "default" in action.help, f"{name} {action.option_strings} does not state its default"


def test_train_help_lists_the_shared_options(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", "--help")
    assert result.code == 0
    for flag in ("--epochs", "--iterations", "--batch-size", "--optimizer", "--lr", "--schedule", "--sparsity",
                 "--seed", "--data-dir", "--per-class", "--val", "--runs-dir", "--json", "--prunable", "--init"):
        assert flag in result.out
    assert "(default: 128)" in result.out  # --batch-size


def test_models_and_datasets_listings(cli) -> None:  # type: ignore[no-untyped-def]
    models = cli("models", "--shape", "1x28x28")
    assert models.code == 0
    assert "lenet300" in models.out and "266,610" in models.out and "resnet18" in models.out
    datasets = cli("datasets")
    assert datasets.code == 0
    for name in ("fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"):
        assert name in datasets.out


def test_train_json_prints_result_on_stdout(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", *SYNTHETIC, "--epochs", "1", "--sparsity", "0.5", "--runs-dir", str(tmp_path), "--json",
                 "--device", "cpu")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert "epoch" in result.err and "test accuracy" in result.err  # progress and table on stderr
    report = cli("mask", parsed["run_dir"], "--json")
    assert report.code == 0 and json.loads(report.out)["kept"] == parsed["kept"]


def test_train_prints_a_table(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", *SYNTHETIC, "--epochs", "2", "--runs-dir", str(tmp_path), "--quiet")
    assert result.code == 0, result.err
    assert "test acc" in result.out and "fc1.weight" in result.out and "total" in result.out
    assert result.err == ""


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--model", "resnet99"], "unknown model 'resnet99'; choose from: lenet300"),
        (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet'; choose from: fashion-mnist"),
        (["train", *SYNTHETIC, "--sparsity", "1.0"], "--sparsity must be in [0, 1)"),
        (["train", *SYNTHETIC, "--sparsity", "-0.2"], "--sparsity must be in [0, 1)"),
        (["train", *SYNTHETIC, "--sparsity", "lots"], "invalid float value"),
        (["train", *SYNTHETIC, "--epochs", "-1"], "--epochs must be 0"),
        (["train", *SYNTHETIC, "--epochs", "2", "--iterations", "5"], "not allowed with argument"),
        (["train", *SYNTHETIC, "--lr-drops", "3ep"], "only applies to --schedule step"),
        (["train", *SYNTHETIC, "--optimizer", "adam", "--nesterov"], "--nesterov"),
        (["train", "--dataset", "fashion-mnist", "--synthetic-classes", "3"], "only apply to --dataset synthetic"),
        (["train", *SYNTHETIC, "--prunable", "conv,heads"], "unknown token"),
        (["train", *SYNTHETIC, "--per-class", "1000"], "per-class"),
        (["train", *SYNTHETIC, "--device", "tpu"], "--device"),
        (["mask", "/nonexistent/mask.npz"], "does not exist"),
        (["models", "--shape", "32x32"], "CxHxW"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    if args[0] == "train":
        args = [*args, "--runs-dir", str(tmp_path)]
    result = cli(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert fragment in lines[0]
    assert "Traceback" not in result.err
    assert not list(tmp_path.glob("*/result.json"))


def test_missing_data_exits_2_and_writes_no_run(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TICKETLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(locate, "SYSTEM_ROOTS", ())
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("train", "--dataset", "mnist", "--data-dir", str(empty), "--runs-dir", str(tmp_path / "runs"))
    assert result.code == 2
    line = result.err.strip()
    assert "\n" not in line and str(empty) in line and "--download" in line
    assert not (tmp_path / "runs").exists()


def test_corrupt_data_file_exits_2_naming_it(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(locate, "SYSTEM_ROOTS", ())
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / name).write_bytes(b"\x00\x00\x08\x03garbage")
    result = cli("train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs"))
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "idx" in result.err
    assert not list((tmp_path / "runs").glob("*/result.json"))


def test_truncated_checkpoint_exits_2_in_a_real_process(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["train", *SYNTHETIC, "--epochs", "1", "--runs-dir", str(tmp_path), "--device", "cpu", "--json"]
    first = cli(*args)
    run_dir = Path(json.loads(first.out)["run_dir"])
    # Pretend the run was killed: no result yet, and a checkpoint cut short.
    (run_dir / "result.json").unlink()
    (run_dir / "checkpoint.pt").write_bytes((run_dir / "model_final.pt").read_bytes()[:100])
    result = cli.subprocess(*args)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0 and "checkpoint.pt" in result.err and "Traceback" not in result.err
    assert not (run_dir / "result.json").exists()
