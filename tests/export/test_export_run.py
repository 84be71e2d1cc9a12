"""``ticketlab export`` end to end: runs on synthetic data exported, reloaded and checked against the runs themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig
from ticketlab.export.archive import load_export
from ticketlab.masks import load_mask
from ticketlab.models import ModelConfig
from ticketlab.runs import Session, TrainRunConfig, run_train
from ticketlab.runs.strong_run import StrongConfig, run_strong
from ticketlab.runs.units import load_unit_model, unit_config
from ticketlab.training import TrainConfig

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x8x8", "--synthetic-train", "200", "--synthetic-test",
             "50", "--device", "cpu"]


def _masked(unit: Path) -> tuple[torch.nn.Module, torch.Tensor]:
    """The run's own masked network and its test inputs (ticketlab.runs.units, not the exporter)."""
    _, record, data_config, model_config = unit_config(unit)
    data = Session().load_data(data_config)
    model, _ = load_unit_model(unit, model_config, data, record.get("hash"))
    return model.eval(), data.test.x


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ticketlab.cli.main import main

    runs = tmp_path_factory.mktemp("runs")
    code = main(["prune", *SYNTHETIC, "--width", "0.3", "--method", "random", "--quota", "uniform", "--sparsity",
                 "0.95", "--epochs", "1", "--runs-dir", str(runs), "--quiet"])
    assert code == 0
    return next(runs.glob("prune-*"))


def test_compact_export_keeps_exactly_the_effective_weights(cli, pruned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "ticket.pt"
    result = cli("export", str(pruned), "--out", str(out), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["format"] == "compact" and Path(record["path"]) == out and out.stat().st_size == record["bytes"]
    assert json.loads((tmp_path / "ticket.pt.json").read_text()) == record
    assert record["max_rel_diff"] <= 1e-5 and set(record["sizes"]) == {"dense", "compact", "sparse"}
    assert record["sizes"]["compact"] < record["sizes"]["dense"]
    model, x = _masked(pruned)
    exported = load_export(out)
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5, rtol=1e-5)
    # Between kept units every kept weight is active, so the compact network's nonzero weights are the
    # run's effective kept weights, which its result.json counts by the linearised pass.
    effective_kept = json.loads((pruned / "result.json").read_text())["effective_kept"]
    weights = sum(int((p != 0).sum()) for name, p in exported.named_parameters() if name.endswith("weight"))
    assert weights == effective_kept
    assert all(layer["kept_units"] <= layer["units"] for layer in record["layers"])
    table = cli("export", str(pruned), "--out", str(tmp_path / "again.pt"))
    assert table.code == 0 and "units kept" in table.out and "fc1" in table.out


def test_sparse_export_round_trip(cli, pruned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("export", str(pruned), "--format", "sparse", "--sparse-layers", "all", "--out",
                 str(tmp_path / "s.pt"), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert all(layer["sparse"]["form"] == "sparse" for layer in record["layers"])
    model, x = _masked(pruned)
    with torch.no_grad():
        assert torch.allclose(load_export(tmp_path / "s.pt")(x), model(x), atol=1e-5, rtol=1e-5)
    assert record["sizes"]["sparse"] < record["sizes"]["dense"]


def test_onnx_export_runs_in_onnxruntime(cli, pruned: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "t.onnx"
    result = cli("export", str(pruned), "--format", "onnx", "--out", str(path), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["onnx_max_abs_diff"] <= 1e-4
    # one self-contained file (weights inside, no .onnx.data beside it) and its record
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("t.onnx")) == ["t.onnx", "t.onnx.json"]
    model, x = _masked(pruned)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 7):  # the batch axis is dynamic
        got = session.run(None, {session.get_inputs()[0].name: x[:batch].numpy()})[0]
        with torch.no_grad():
            assert torch.allclose(torch.from_numpy(got), model(x[:batch]), atol=1e-5, rtol=1e-4)


def test_lottery_levels_and_bad_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = tmp_path / "runs"
    made = cli("lottery", *SYNTHETIC, "--width", "0.3", "--levels", "2", "--prune-fraction", "0.6", "--epochs", "1",
               "--runs-dir", str(runs), "--quiet", "--json")
    assert made.code == 0, made.err
    lottery = next(runs.glob("lottery-*"))
    last = cli("export", str(lottery), "--json")
    assert last.code == 0, last.err
    assert Path(json.loads(last.out)["path"]) == lottery / "level-2" / "export-compact.pt"
    first = cli("export", str(lottery), "--level", "1", "--json")
    assert first.code == 0 and json.loads(first.out)["unit"].endswith("level-1")
    trained = cli("train", *SYNTHETIC, "--width", "0.3", "--epochs", "1", "--runs-dir", str(runs), "--quiet", "--json")
    dense = json.loads(trained.out)["run_dir"]
    for args, fragment in [
        ([str(lottery), "--level", "7"], "level 7 does not exist"),
        ([str(lottery), "--branch", "nope"], "branch-nope"),
        ([dense], "no mask.npz"),
        ([dense, "--level", "1"], "--level applies to lottery runs"),
        ([str(tmp_path)], "not a run directory"),
        ([str(lottery), "--sparse-layers", "2"], "--sparse-layers"),
    ]:
        result = cli("export", *args)
        assert result.code == 2, (args, result.err)
        assert len(result.err.strip().splitlines()) == 1 and fragment in result.err, result.err


def test_strong_ticket_export_is_smaller_and_as_accurate(tmp_path: Path) -> None:
    from ticketlab.export.run_export import export_run

    target = run_train(TrainRunConfig(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x6x6", synthetic_train=300, synthetic_test=200),
        model=ModelConfig(model="lenet300", width=0.05), train=TrainConfig(duration="2ep", batch_size=50),
    ), runs_dir=tmp_path)
    strong = run_strong(target.run_dir, StrongConfig(construction="cunha", n=10), runs_dir=tmp_path)
    record = export_run(strong.run_dir, "compact")
    exported = load_export(record["path"])
    data = Session().load_data(unit_config(Path(target.run_dir))[2])
    with torch.no_grad():
        accuracy = float((exported(data.test.x).argmax(1) == data.test.y).float().mean())
    assert accuracy == pytest.approx(strong.ticket_test_accuracy, abs=1.0 / len(data.test.y))
    kept = sum(int(m.sum()) for m in load_mask(Path(strong.run_dir) / "mask.npz").values())
    assert record["parameters"] < record["dense_parameters"] and record["parameters"] <= kept + record["dense_parameters"]
    assert any(layer["kept_units"] < layer["units"] for layer in record["layers"])


def test_sparse_train_run_and_its_ticket_check_branch(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = cli("sparse-train", *SYNTHETIC, "--width", "0.3", "--method", "rigl", "--sparsity", "0.9", "--epochs", "1",
               "--update-every", "2", "--branches", "rewind", "--runs-dir", str(tmp_path), "--quiet", "--json")
    assert made.code == 0, made.err
    run = Path(json.loads(made.out)["run_dir"])
    for args, unit in [([], run), (["--branch", "rewind"], run / "branch-rewind")]:
        result = cli("export", str(run), *args, "--json")
        assert result.code == 0, result.err
        record = json.loads(result.out)
        assert Path(record["unit"]) == unit and record["max_rel_diff"] <= 1e-5
        model, x = _masked(unit)
        with torch.no_grad():
            assert torch.allclose(load_export(record["path"])(x), model(x), atol=1e-5, rtol=1e-5)
