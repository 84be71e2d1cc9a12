"""The prune, effective and sweep commands end to end on synthetic data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x8x8", "--synthetic-train", "200", "--synthetic-test", "50",
             "--width", "0.2", "--device", "cpu"]


def test_prune_json_and_effective_report(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("prune", *SYNTHETIC, "--method", "random", "--quota", "uniform", "--sparsity", "0.97",
                 "--epochs", "1", "--runs-dir", str(tmp_path), "--json")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["effective_sparsity"] >= parsed["sparsity"]
    assert "effective" in result.err and "eff. density" in result.err
    report = cli("effective", parsed["run_dir"], "--json")
    assert report.code == 0, report.err
    assert json.loads(report.out)["effective_kept"] == parsed["effective_kept"]
    table = cli("effective", parsed["run_dir"], "--plot", str(tmp_path / "layers.png"))
    assert table.code == 0 and "fc1.weight" in table.out and (tmp_path / "layers.png").stat().st_size > 1000
    bare = cli("effective", str(Path(parsed["run_dir"]) / "mask.npz"), "--model", "lenet300", "--width", "0.2",
               "--shape", "1x8x8", "--classes", "10", "--json")
    assert bare.code == 0, bare.err
    assert json.loads(bare.out)["effective_kept"] == parsed["effective_kept"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["prune", *SYNTHETIC, "--method", "obd"], "invalid choice: 'obd'"),
        (["prune", *SYNTHETIC, "--quota", "even"], "invalid choice: 'even'"),
        (["prune", *SYNTHETIC, "--sparsity", "1"], "--sparsity"),
        (["prune", *SYNTHETIC, "--target", "both"], "invalid choice: 'both'"),
        (["prune", *SYNTHETIC, "--quota", "uniform-plus", "--sparsity", "0.95"], "uniform-plus"),
        (["effective", "/nonexistent"], "mask file"),
        (["effective", "mask.npz"], "--model"),
        (["sweep", "/nonexistent.toml"], "cannot read sweep file"),
    ],
)
def test_bad_input_exits_2(cli, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    if args[0] == "prune":
        args = [*args, "--runs-dir", str(tmp_path)]
    result = cli(*args)
    assert result.code == 2, result.err
    assert len(result.err.strip().splitlines()) == 1 and fragment in result.err
    assert not list(tmp_path.glob("*/result.json"))


SWEEP = """
name = "tiny"
[base]
dataset = "synthetic"
synthetic_shape = "1x8x8"
synthetic_train = 200
synthetic_test = 50
width = 0.2
epochs = 1
batch_size = 50
[grid]
method = ["random", "synflow"]
quota = ["uniform", "uniform-plus", "igq"]
compression = [10, 100]
[report]
layer_density_compression = 10
"""


def test_sweep_runs_resumes_and_reports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "sweep.toml"
    spec.write_text(SWEEP)
    first = cli("sweep", str(spec), "--runs-dir", str(tmp_path / "serial"), "--device", "cpu")
    assert first.code == 0, first.err
    directory = tmp_path / "serial" / "sweep-tiny"
    rows = list(csv.DictReader((directory / "summary.csv").open()))
    assert len(rows) == 12
    assert {r["status"] for r in rows if r["quota"] == "uniform-plus"} == {"invalid"}
    assert {r["status"] for r in rows if r["quota"] != "uniform-plus"} == {"done"}
    for name in ("accuracy_vs_direct_compression.png", "accuracy_vs_effective_compression.png",
                 "direct_vs_effective_compression.png", "layer_density.png", "summary.md"):
        assert (directory / name).stat().st_size > 100, name
    assert "synflow" in first.out and "10x" in first.out
    again = cli("sweep", str(spec), "--runs-dir", str(tmp_path / "serial"), "--device", "cpu")
    # Finished points are skipped; only the four invalid ones are tried (and fail) again.
    assert again.code == 0 and "4 to run" in again.err and "test " not in again.err
    # Two worker processes give the same numbers as one.
    parallel = cli("sweep", str(spec), "--runs-dir", str(tmp_path / "parallel"), "--jobs", "2", "--threads", "1",
                   "--device", "cpu")
    assert parallel.code == 0, parallel.err
    other = list(csv.DictReader((tmp_path / "parallel" / "sweep-tiny" / "summary.csv").open()))
    keys = ("method", "quota", "compression", "status", "sparsity", "effective_sparsity", "test_accuracy")
    assert [[r[k] for k in keys] for r in rows] == [[r[k] for k in keys] for r in other]


def test_effective_layer_table_hand_computed() -> None:
    from ticketlab.runs.tables import effective_layer_table

    result = {
        "layers": [{"name": "fc1.weight", "shape": [4, 5], "kept": 5, "effective_kept": 2, "total": 20},
                   {"name": "fc2.weight", "shape": [2, 4], "kept": 4, "effective_kept": 4, "total": 8}],
        "kept": 9, "effective_kept": 6, "total": 28, "effective_sparsity": 22 / 28,
    }
    lines = effective_layer_table(result["layers"], result["kept"], result["effective_kept"],
                                  result["total"]).splitlines()
    assert lines[0].split() == ["layer", "shape", "kept", "effective", "total", "density", "eff.", "density"]
    assert lines[2].split() == ["fc1.weight", "4x5", "5", "2", "20", "25.000%", "10.000%"]
    assert lines[3].split() == ["fc2.weight", "2x4", "4", "4", "8", "50.000%", "50.000%"]
    assert lines[4].split() == ["total", "9", "6", "28", "32.143%", "21.429%"]
