"""Run directories: layout, skipping, resuming after a real kill, corrupt files."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig
from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.masks import load_mask
from ticketlab.models.config import ModelConfig
from ticketlab.runs import RunDirectory, Session, TrainRunConfig, load_config, run_train
from ticketlab.training import TrainConfig

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x10x10", "--synthetic-train", "600", "--synthetic-test", "100"]


def small_config(**changes: object) -> TrainRunConfig:
    base = dict(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=300, synthetic_test=100, val=50),
        model=ModelConfig(model="lenet300", width=0.25),
        train=TrainConfig(duration="2ep", batch_size=50),
        sparsity=0.75,
        seed=3,
    )
    base.update(changes)
    return TrainRunConfig(**base)  # type: ignore[arg-type]


def test_run_directory_layout_and_result(tmp_path: Path) -> None:
    config = small_config()
    result = run_train(config, runs_dir=tmp_path)
    run_dir = Path(result.run_dir)
    assert run_dir.parent == tmp_path and run_dir.is_absolute()
    assert run_dir.name == f"train-{RunDirectory(tmp_path, config).hash}"
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.json", "mask.npz", "metrics.jsonl", "model_final.pt", "model_init.pt", "result.json",
    ]
    assert load_config(run_dir, TrainRunConfig) == config
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    on_disk = json.loads((run_dir / "result.json").read_text())
    assert on_disk == result.to_json()
    assert 0.0 <= result.test_accuracy <= 1.0 and 0.0 <= result.val_accuracy <= 1.0
    assert result.wall_seconds > 0
    # lenet300 at width 0.25: 100 -> 75 -> 25 -> 10; 75% removed per layer, exactly.
    assert [(layer["name"], layer["shape"], layer["kept"], layer["total"]) for layer in result.layers] == [
        ("fc1.weight", [75, 100], 1875, 7500),
        ("fc2.weight", [25, 75], 469, 1875),
        ("fc3.weight", [10, 25], 62, 250),
    ]
    assert result.sparsity == pytest.approx(1 - (1875 + 469 + 62) / (7500 + 1875 + 250))
    mask = load_mask(run_dir / "mask.npz")
    final = torch.load(run_dir / "model_final.pt", weights_only=True)["state"]["model"]
    for name, m in mask.items():
        assert torch.count_nonzero(final[name][~m]) == 0


def test_dense_run_reports_full_layers(tmp_path: Path) -> None:
    result = run_train(small_config(sparsity=None), runs_dir=tmp_path)
    assert result.sparsity == 0.0
    assert all(layer["kept"] == layer["total"] for layer in result.layers)
    assert not (Path(result.run_dir) / "mask.npz").exists()


def test_finished_run_is_skipped(tmp_path: Path) -> None:
    config = small_config()
    first = run_train(config, runs_dir=tmp_path)
    stamp = (Path(first.run_dir) / "result.json").stat().st_mtime_ns
    messages: list[str] = []
    again = run_train(config, runs_dir=tmp_path, session=Session(log=messages.append))
    assert again == first
    assert messages == [f"already complete: {first.run_dir}"]
    assert (Path(first.run_dir) / "result.json").stat().st_mtime_ns == stamp


def test_same_config_same_numbers(tmp_path: Path) -> None:
    a = run_train(small_config(), runs_dir=tmp_path / "a")
    b = run_train(small_config(), runs_dir=tmp_path / "b")
    assert strip(a.to_json()) == strip(b.to_json())
    assert load_mask(Path(a.run_dir) / "mask.npz").keys() == load_mask(Path(b.run_dir) / "mask.npz").keys()
    c = run_train(small_config(seed=4), runs_dir=tmp_path / "c")
    assert strip(c.to_json())["layers"] == strip(a.to_json())["layers"] and c.test_loss != a.test_loss


def strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("wall_seconds", "run_dir")}


def metrics_without_seconds(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_resume_after_kill_at_random_moments(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    args = ["train", *SYNTHETIC, "--model", "conv2", "--width", "0.25", "--epochs", "6", "--batch-size", "20",
            "--sparsity", "0.5", "--augment", "crop+flip", "--seed", "1", "--device", "cpu", "--json"]
    ref_runs = tmp_path / "reference"
    reference, span_seconds = cli.timed_reference(
        [*args, "--runs-dir", str(ref_runs)], lambda: bool(list(ref_runs.glob("*/checkpoint.pt"))),
        lambda: bool(list(ref_runs.glob("*/result.json"))))
    assert reference.code == 0, reference.err
    expected = json.loads(reference.out)
    rng = random.Random(7)
    killed_mid_run = []
    for attempt in range(3):
        runs = tmp_path / f"killed{attempt}"
        # Checkpointing after every step, so kills land mid-epoch too.
        resumed, mid_run = cli.kill_and_resume(args, runs, "*/checkpoint.pt", span_seconds, rng)
        killed_mid_run.append(mid_run)
        run_dir = runs / Path(expected["run_dir"]).name
        assert resumed.code == 0, resumed.err
        got = json.loads(resumed.out)
        assert strip(got) == strip(expected)
        assert metrics_without_seconds(run_dir) == metrics_without_seconds(Path(expected["run_dir"]))
        final = torch.load(run_dir / "model_final.pt", weights_only=True)["state"]["model"]
        ref = torch.load(Path(expected["run_dir"]) / "model_final.pt", weights_only=True)["state"]["model"]
        assert all(torch.equal(final[k], ref[k]) for k in ref)
    assert any(killed_mid_run), "no kill landed before the run finished: the test proved nothing"


def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    config = small_config(train=TrainConfig(duration="3ep", batch_size=50))
    run = RunDirectory(tmp_path, config)

    class Stop(Exception):
        pass

    lines: list[str] = []

    def stop_in_second_epoch(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:  # epoch 2 has ended; epoch 1's checkpoint is on disk
            raise Stop

    with pytest.raises(Stop):
        run_train(config, runs_dir=tmp_path, session=Session(log=stop_in_second_epoch))
    checkpoint = run.path / "checkpoint.pt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        run_train(config, runs_dir=tmp_path)
    assert "\n" not in str(info.value) and "checkpoint.pt" in str(info.value)
    assert not run.result_path.exists()


def test_config_json_of_another_run_is_refused(tmp_path: Path) -> None:
    config = small_config()
    run = RunDirectory(tmp_path, config)
    run.path.mkdir(parents=True)
    (run.path / "config.json").write_text(json.dumps({"kind": "train", "hash": run.hash, "config": {}}))
    with pytest.raises(ConfigError, match="different run"):
        run_train(config, runs_dir=tmp_path)


def test_config_json_from_before_a_field_existed_resumes(tmp_path: Path) -> None:
    # A run started by an older version lacks fields added since; they take their defaults
    # (which the hash leaves out), so it is the same run and config.json is brought up to date.
    config = small_config()
    run = RunDirectory(tmp_path, config)
    run.path.mkdir(parents=True)
    record = run.config_record()
    del record["config"]["train"]["eval_every"]
    (run.path / "config.json").write_text(json.dumps(record))
    run.prepare()
    assert json.loads((run.path / "config.json").read_text()) == json.loads(json.dumps(run.config_record()))


def test_config_json_with_a_changed_value_is_refused(tmp_path: Path) -> None:
    config = small_config()
    run = RunDirectory(tmp_path, config)
    run.path.mkdir(parents=True)
    record = run.config_record()
    record["config"]["seed"] = record["config"]["seed"] + 1
    (run.path / "config.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="different run"):
        run.prepare()
