"""Sparsity types and the ticket check through the real commands: masks, reports, branches, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig, load_data
from ticketlab.masks import load_mask
from ticketlab.models import build_model
from ticketlab.training import TrainConfig, Trainer

# 8x8 inputs and width 0.16: lenet300's layers read 64, 48 and 16 inputs, all multiples of 4.
SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x8x8", "--synthetic-train", "200",
             "--synthetic-test", "50"]
TINY = [*SYNTHETIC, "--model", "lenet300", "--width", "0.16", "--batch-size", "50", "--lr", "0.05",
        "--device", "cpu", "--json", "--quiet"]


def weights(path: Path, name: str) -> dict[str, torch.Tensor]:
    return torch.load(path / name, weights_only=True)["state"]["model"]


def assert_n_m(mask: dict[str, torch.Tensor], n: int, m: int) -> None:
    for tensor in mask.values():
        rows = tensor.reshape(tensor.shape[0], tensor.shape[1] // m, m)  # Linear: groups along the inputs
        assert bool((rows.sum(dim=2) == n).all())


@pytest.mark.parametrize("command, options, message", [
    ("prune", ["--structure", "2:4", "--sparsity", "0.5", "--width", "0.25"],
     "fc2.weight has 75 inputs (dimension 1), not a multiple of 4"),
    ("prune", ["--structure", "2:4"], "--structure 2:4 fixes the sparsity at 0.5: give --sparsity 0.5, got 0.9"),
    ("prune", ["--structure", "2:3", "--sparsity", "0.333333"], "has 64 inputs (dimension 1), not a multiple of 3"),
    ("lottery", ["--structure", "1:4", "--levels", "2"], "give e.g. --levels 2 --prune-fraction 0.5"),
    ("sparse-train", ["--structure", "2:4", "--sparsity", "0.5", "--method", "rigl"], "rigl moves single weights"),
    ("sparse-train", ["--structure", "channel", "--prunable", "linear,fc3*"],
     "needs a prunable layer before the classifier"),
])
def test_infeasible_structures_exit_2_with_one_line_and_no_run(tmp_path: Path, cli, command: str,  # type: ignore[no-untyped-def]
                                                               options: list[str], message: str) -> None:
    got = cli(command, *TINY, "--epochs", "1", *options, "--runs-dir", str(tmp_path / "runs"))
    assert got.code == 2 and message in got.err and got.err.count("\n") == 1, got.err
    assert not (tmp_path / "runs").exists()


def test_lottery_reaches_n_m_at_its_last_level(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    got = cli("lottery", *TINY, "--epochs", "1", "--structure", "2:4", "--levels", "1", "--prune-fraction", "0.5",
              "--runs-dir", str(tmp_path))
    assert got.code == 0, got.err
    level = Path(json.loads(got.out)["levels"][1]["run_dir"])
    mask = load_mask(level / "mask.npz")
    assert_n_m(mask, 2, 4)
    rows = json.loads((level / "result.json").read_text())["layers"]
    assert all(r["structure"] == "2:4" and r["groups_n"] == r["groups"] for r in rows)


def test_channel_prune_reports_kept_units_and_their_dead_outgoing_weights(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    got = cli("prune", *TINY, "--epochs", "0", "--structure", "channel", "--sparsity", "0.6", "--runs-dir",
              str(tmp_path))
    assert got.code == 0, got.err
    result = json.loads(got.out)
    assert result["structure"] == "channel"
    mask = load_mask(Path(result["run_dir"]) / "mask.npz")
    rows = {r["name"]: r for r in result["layers"]}
    fc1_units = mask["fc1.weight"].any(dim=1)
    assert bool((mask["fc1.weight"].all(dim=1) == fc1_units).all())  # whole units
    assert rows["fc1.weight"]["units_kept"] == int(fc1_units.sum()) < 48
    # fc2's columns fed by a removed fc1 unit are effectively pruned.
    assert rows["fc2.weight"]["effective_kept"] <= int(mask["fc2.weight"][:, fc1_units].sum())
    assert rows["fc3.weight"]["structure"] == "unstructured"


def test_gmp_n_m_and_its_rewind_branch_train_the_final_mask_from_the_init(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    options = [*TINY, "--epochs", "2", "--method", "gmp", "--structure", "2:4", "--sparsity", "0.5",
               "--prune-every", "2", "--runs-dir", str(tmp_path)]
    got = cli("sparse-train", *options)
    assert got.code == 0, got.err
    run_dir = Path(json.loads(got.out)["run_dir"])
    trunk_metrics = (run_dir / "metrics.jsonl").read_text()
    # Asked later, the branch reuses the finished run.
    got = cli("sparse-train", *options, "--branches", "rewind")
    assert got.code == 0, got.err
    result = json.loads(got.out)
    assert (run_dir / "metrics.jsonl").read_text() == trunk_metrics
    final = load_mask(run_dir / "mask.npz")
    assert_n_m(final, 2, 4)
    assert all(r["groups_n"] == r["groups"] for r in result["layers"])
    branch = run_dir / "branch-rewind"
    branch_result = json.loads((branch / "result.json").read_text())
    assert result["branches"]["rewind"]["test_accuracy"] == branch_result["test_accuracy"]
    assert result["branches"]["rewind"]["rewind"] == "0it" and result == json.loads((run_dir / "result.json").read_text())
    saved = load_mask(branch / "mask.npz")
    assert all(torch.equal(saved[n], final[n]) for n in final)
    init = weights(run_dir, "model_init.pt")
    assert all(torch.equal(init[n], t) for n, t in weights(branch, "model_init.pt").items())
    # Oracle: a plain fixed-mask trainer from the saved init and mask reaches the branch's weights.
    data = load_data(DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=200, synthetic_test=50))
    model = build_model("lenet300", data.info.image_shape, data.info.num_classes, width=0.16, seed=1)
    model.load_state_dict(init)
    Trainer(model, data, TrainConfig(duration="2ep", batch_size=50, lr=0.05), seed=0, mask=final).run()
    replay, trained = model.state_dict(), weights(branch, "model_final.pt")
    assert all(torch.equal(replay[n], trained[n]) for n in trained)
    assert all(torch.count_nonzero(trained[n][~m]) == 0 for n, m in final.items())


def test_rewind_point_is_kept_and_branches_start_from_it(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    got = cli("sparse-train", *TINY, "--epochs", "2", "--method", "static", "--sparsity", "0.8", "--rewind", "1ep",
              "--branches", "rewind", "--runs-dir", str(tmp_path))
    assert got.code == 0, got.err
    run_dir = Path(json.loads(got.out)["run_dir"])
    rewound = weights(run_dir, "rewind.pt")
    assert not all(torch.equal(rewound[n], t) for n, t in weights(run_dir, "model_init.pt").items())
    assert all(torch.equal(rewound[n], t) for n, t in weights(run_dir / "branch-rewind", "model_init.pt").items())
    assert json.loads(got.out)["branches"]["rewind"]["rewind"] == "1ep"
    got = cli("sparse-train", *TINY, "--epochs", "2", "--rewind", "3ep", "--runs-dir", str(tmp_path / "late"))
    assert got.code == 2 and "--rewind 3ep lies beyond the run's 8 training steps" in got.err
    assert not (tmp_path / "late").exists()
