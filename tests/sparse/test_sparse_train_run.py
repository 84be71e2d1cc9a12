"""``ticketlab sparse-train`` end to end: result and metrics, moving masks, resuming after a kill, bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig, load_data
from ticketlab.masks import full_mask, load_mask
from ticketlab.models import build_model
from ticketlab.models.config import ModelConfig
from ticketlab.runs import RunDirectory, Session
from ticketlab.runs.sparse_train_run import SparseTrainRunConfig, run_sparse_train
from ticketlab.sparse import SPARSE_METHODS, MovingMask, SparseConfig, initial_mask, layer_macs
from ticketlab.training import TrainConfig, Trainer

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x10x10", "--synthetic-train", "300",
             "--synthetic-test", "100"]
TINY = [*SYNTHETIC, "--model", "lenet300", "--width", "0.25", "--batch-size", "50", "--lr", "0.05",
        "--device", "cpu", "--json", "--quiet"]


def metrics(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("wall_seconds", "run_dir")}


@pytest.mark.parametrize("method, options", [
    ("rigl", ["--update-every", "2"]), ("set", ["--update-every", "2"]), ("gmp", ["--prune-every", "2"]),
    ("static", []),
])
def test_json_result_and_metrics(tmp_path: Path, cli, method: str, options: list[str]) -> None:  # type: ignore[no-untyped-def]
    got = cli("sparse-train", *TINY, "--epochs", "3", "--method", method, "--sparsity", "0.8", *options,
              "--runs-dir", str(tmp_path))
    assert got.code == 0, got.err
    result = json.loads(got.out)
    run_dir = Path(result["run_dir"])
    assert run_dir.name.startswith("sparse-train-")
    assert result == json.loads((run_dir / "result.json").read_text())
    assert result["sparsity"] == pytest.approx(0.8, abs=1e-3) and result["method"] == method
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["effective_sparsity"] >= result["sparsity"]
    final = load_mask(run_dir / "mask.npz")
    assert [(r["name"], r["kept"], r["density"]) for r in result["layers"]] == [
        (name, int(m.sum()), int(m.sum()) / m.numel()) for name, m in final.items()]
    weights = torch.load(run_dir / "model_final.pt", weights_only=True)["state"]["model"]
    assert all(torch.count_nonzero(weights[name][~m]) == 0 for name, m in final.items())
    rows = metrics(run_dir)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all({"sparsity", "effective_sparsity", "mask_changed"} <= set(r) for r in rows)
    assert rows[-1]["sparsity"] == result["sparsity"]
    start = load_mask(run_dir / "mask_init.npz")
    changed = sum(int((final[n] ^ start[n]).sum()) for n in final) / result["total"]
    assert (changed > 0) == (method != "static")
    # rigl and set move at steps 2, 4, ..., 12, before --end-update (step 14 of 18): none in epoch 3.
    assert (rows[-1]["mask_changed"] == 0.0) == (method != "gmp")
    if method in ("static", "set"):
        assert result["training_flops_ratio"] == pytest.approx(1 - result["sparsity"])
    if method == "rigl":
        # Steps 2, 4, ..., 12 moved the mask and took the dense gradient: 2 f_S + f_D instead of 3 f_S.
        density = 1 - result["sparsity"]
        assert result["dense_gradient_steps"] == result["mask_updates"] == 6 and result["steps"] == 18
        assert result["training_flops_ratio"] == pytest.approx((12 * 3 * density + 6 * (2 * density + 1)) / 54)
    if method == "gmp":
        assert rows[0]["sparsity"] < rows[1]["sparsity"] < rows[2]["sparsity"]
        assert 1 - result["sparsity"] < result["training_flops_ratio"] < 1


def test_layer_macs_counted_by_hand() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(32, 3))
    # conv: 2 x 1 x 9 weights at 16 positions; linear: 32 x 3 once.
    assert layer_macs(model, (1, 4, 4)) == {"0.weight": 288.0, "2.weight": 96.0}


def test_grown_weights_and_their_momentum_start_at_zero() -> None:
    data = load_data(DataConfig(dataset="synthetic", synthetic_shape="1x6x6", synthetic_train=64, synthetic_test=16))
    model = build_model("lenet300", data.info.image_shape, data.info.num_classes, width=0.1, seed=0)
    config = SparseConfig(method="rigl", sparsity=0.7, update_every=1, drop_fraction=0.5, end_update=1.0)
    start = initial_mask(model, full_mask(model), config, [], data.info.image_shape, torch.Generator().manual_seed(0))
    moving = MovingMask(SPARSE_METHODS.get("rigl"), config, start, seed=0, input_shape=data.info.image_shape,
                        macs=layer_macs(model, data.info.image_shape))
    trainer = Trainer(model, data, TrainConfig(duration="4ep", batch_size=16, lr=0.5), seed=0, mask=start,
                      callbacks=(moving,))
    x, y = data.train.x[:16], data.train.y[:16]
    for _ in range(3):
        before = dict(moving.mask)
        trainer._train_step(x, y)
        params = dict(model.named_parameters())
        for name, now in moving.mask.items():
            grew, dropped = now & ~before[name], before[name] & ~now
            assert grew.any() and int(now.sum()) == int(before[name].sum())
            assert torch.count_nonzero(params[name].detach()[grew | ~now]) == 0
            momentum = trainer.optimizer.state[params[name]]["momentum_buffer"]
            assert torch.count_nonzero(momentum[grew | dropped]) == 0


class Killed(Exception):
    pass


def tiny_config(method: str) -> SparseTrainRunConfig:
    sparse = {"rigl": SparseConfig(method="rigl", sparsity=0.8, update_every=3),
              "gmp": SparseConfig(method="gmp", sparsity=0.8, prune_every=3)}[method]
    return SparseTrainRunConfig(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=300, synthetic_test=100,
                        val=50, augment="flip"),
        model=ModelConfig(model="lenet300", width=0.25),
        train=TrainConfig(duration="3ep", batch_size=50, lr=0.05, weight_decay=1e-4), sparse=sparse, seed=2,
    )


@pytest.mark.parametrize("method, kill_after", [("rigl", 3), ("rigl", 7), ("rigl", 11), ("gmp", 6), ("gmp", 9)])
def test_resume_after_a_kill_is_bit_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str,
                                              kill_after: int) -> None:
    config = tiny_config(method)
    reference = run_sparse_train(config, runs_dir=tmp_path / "reference")
    saves: list[str] = []
    original = RunDirectory.save_checkpoint

    def save_then_die(self: RunDirectory, state: dict, name: str) -> None:
        original(self, state, name)
        if name == "checkpoint.pt":
            saves.append(name)
            if len(saves) == kill_after:  # checkpoints come after every step here
                raise Killed

    monkeypatch.setattr(RunDirectory, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        run_sparse_train(config, runs_dir=tmp_path / "killed", session=Session(checkpoint_seconds=0.0))
    monkeypatch.setattr(RunDirectory, "save_checkpoint", original)
    resumed = run_sparse_train(config, runs_dir=tmp_path / "killed")
    assert strip(resumed.to_json()) == strip(reference.to_json())
    got, want = Path(resumed.run_dir), Path(reference.run_dir)
    assert metrics(got) == metrics(want)
    for name in ("mask.npz", "mask_init.npz"):
        a, b = load_mask(got / name), load_mask(want / name)
        assert all(torch.equal(a[k], b[k]) for k in b)
    final = torch.load(got / "model_final.pt", weights_only=True)["state"]["model"]
    expected = torch.load(want / "model_final.pt", weights_only=True)["state"]["model"]
    assert all(torch.equal(final[k], expected[k]) for k in expected)


def test_resume_after_a_real_kill(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    args = ["sparse-train", *TINY, "--epochs", "4", "--batch-size", "20", "--method", "rigl", "--update-every", "4",
            "--seed", "1"]
    ref_runs = tmp_path / "reference"
    reference, span_seconds = cli.timed_reference(
        [*args, "--runs-dir", str(ref_runs)], lambda: bool(list(ref_runs.glob("*/checkpoint.pt"))),
        lambda: bool(list(ref_runs.glob("*/result.json"))))
    assert reference.code == 0, reference.err
    expected = json.loads(reference.out)
    rng = random.Random(3)
    killed_mid_run = []
    for attempt in range(2):
        runs = tmp_path / f"killed{attempt}"
        resumed, mid_run = cli.kill_and_resume(args, runs, "*/checkpoint.pt", span_seconds, rng)
        killed_mid_run.append(mid_run)
        assert resumed.code == 0, resumed.err
        assert strip(json.loads(resumed.out)) == strip(expected)
        run_dir = runs / Path(expected["run_dir"]).name
        assert metrics(run_dir) == metrics(Path(expected["run_dir"]))
        got, want = load_mask(run_dir / "mask.npz"), load_mask(Path(expected["run_dir"]) / "mask.npz")
        assert all(torch.equal(got[k], want[k]) for k in want)
    assert any(killed_mid_run), "no kill landed before the run finished: the test proved nothing"


@pytest.mark.parametrize("options, message", [
    (["--method", "magic"], "invalid choice: 'magic'"),
    (["--sparsity", "1"], "--sparsity must be in [0, 1)"),
    (["--sparsity", "-0.5"], "--sparsity must be in [0, 1)"),
    (["--method", "static", "--update-every", "5"], "--method static takes no --update-every"),
    (["--method", "rigl", "--prune-every", "5"], "--method rigl takes no --prune-every"),
    (["--method", "gmp", "--drop-fraction", "0.5"], "--method gmp takes no --drop-fraction"),
    (["--method", "gmp", "--initial-sparsity", "0.95"], "--initial-sparsity must be in [0, 0.9]"),
    (["--method", "gmp", "--prune-start", "0.8", "--prune-end", "0.5"], "--prune-end must be in [0.8, 1]"),
    (["--method", "set", "--drop-fraction", "1.5"], "--drop-fraction must be in (0, 1)"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, cli, options: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    got = cli("sparse-train", *TINY, "--epochs", "1", *options, "--runs-dir", str(tmp_path / "runs"))
    assert got.code == 2 and message in got.err and got.err.count("\n") == 1
    assert not (tmp_path / "runs").exists()
