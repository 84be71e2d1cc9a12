"""Lottery runs: layout, nested masks, exact densities, rewinding, branches, selection."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ticketlab.data import DataConfig, load_data, train_batches
from ticketlab.errors import ConfigError
from ticketlab.masks import load_mask
from ticketlab.models import ModelConfig, build_model
from ticketlab.runs import Session
from ticketlab.runs.lottery_run import LotteryResult, LotteryRunConfig, run_lottery
from ticketlab.runs.store import load_torch_file
from ticketlab.seeding import derive_seed
from ticketlab.tickets import LotteryConfig, select_epoch
from ticketlab.training import TrainConfig, Trainer, learning_rate

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=240, synthetic_test=80, val=40)
MODEL = ModelConfig(model="lenet300", width=0.2)


def config(**lottery: object) -> LotteryRunConfig:
    train = lottery.pop("train", TrainConfig(duration="2ep", batch_size=40, weight_decay=1e-3))
    return LotteryRunConfig(data=DATA, model=MODEL, train=train, lottery=LotteryConfig(**lottery), seed=1)  # type: ignore[arg-type]


def state(path: Path) -> dict[str, torch.Tensor]:
    return load_torch_file(path)["state"]["model"]


@pytest.fixture(scope="module")
def lottery(tmp_path_factory: pytest.TempPathFactory) -> LotteryResult:
    root = tmp_path_factory.mktemp("lottery")
    return run_lottery(config(levels=3, prune_fraction=0.3, rewind="3it"), runs_dir=root,
                       branches=["random-prune", "random-reinit"])


def test_layout(lottery: LotteryResult) -> None:
    top = Path(lottery.run_dir)
    assert top.name.startswith("lottery-")
    assert {"config.json", "model_init.pt", "rewind.pt", "result.json", "level-0", "level-3"} <= {p.name for p in top.iterdir()}
    for level in range(4):
        unit = top / f"level-{level}"
        assert {"metrics.jsonl", "model_final.pt", "result.json"} <= {p.name for p in unit.iterdir()}
        assert (unit / "mask.npz").exists() == (level > 0)
        assert not (unit / "checkpoint.pt").exists()
        for branch in ("random-prune", "random-reinit"):
            assert (unit / f"branch-{branch}" / "result.json").exists() == (level > 0)
    assert [row.level for row in lottery.levels] == [0, 1, 2, 3]
    assert json.loads((top / "result.json").read_text()) == lottery.to_json()


def test_masks_nested_and_densities_exact(lottery: LotteryResult) -> None:
    top = Path(lottery.run_dir)
    masks = [load_mask(top / f"level-{level}" / "mask.npz") for level in (1, 2, 3)]
    for earlier, later in zip(masks, masks[1:]):
        assert all(torch.all(later[k] <= earlier[k]) for k in earlier)  # nothing revived
    total = sum(m.numel() for m in masks[0].values())
    for level, mask in zip((1, 2, 3), masks):
        kept = sum(int(m.sum()) for m in mask.values())
        assert kept == round(0.7 ** level * total)  # global scope: exact to the weight
        assert lottery.levels[level].sparsity == pytest.approx(1 - kept / total)


def test_layerwise_scope_rounds_per_layer(tmp_path: Path) -> None:
    result = run_lottery(config(levels=2, prune_fraction=0.45, scope="layerwise",
                                train=TrainConfig(duration="1ep", batch_size=40)), runs_dir=tmp_path)
    for level in (1, 2):
        mask = load_mask(Path(result.run_dir) / f"level-{level}" / "mask.npz")
        for m in mask.values():
            assert abs(int(m.sum()) - 0.55 ** level * m.numel()) <= 1


def test_rewind_weights_and_restart_are_exact(lottery: LotteryResult) -> None:
    """Oracle: a hand-written SGD loop for 3 steps; then level 1 retrained independently."""
    top = Path(lottery.run_dir)
    data = load_data(DATA)
    cfg = TrainConfig(duration="2ep", batch_size=40, weight_decay=1e-3)
    model = build_model("lenet300", (1, 10, 10), 10, width=0.2, seed=derive_seed(1, "init"))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state(top / "model_init.pt").items())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    total = 2 * 5  # 200 training examples / 40 per batch, 2 epochs
    for step, (x, y) in enumerate(train_batches(data.train, 40, seed=1, epoch=0)):
        if step == 3:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(cfg, step, total, 5)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    rewind = state(top / "rewind.pt")
    assert all(torch.equal(model.state_dict()[k], rewind[k]) for k in rewind)
    # Level 1: survivors reset to the rewind weights, fresh optimizer and schedule.
    mask = load_mask(top / "level-1" / "mask.npz")
    again = build_model("lenet300", (1, 10, 10), 10, width=0.2)
    again.load_state_dict(rewind)
    Trainer(again, data, cfg, seed=1, mask=mask).run()
    final = state(top / "level-1" / "model_final.pt")
    assert all(torch.equal(again.state_dict()[k], final[k]) for k in final)


def test_branches_share_the_trunks_layer_densities(lottery: LotteryResult) -> None:
    top = Path(lottery.run_dir)
    for level in (1, 2, 3):
        trunk = load_mask(top / f"level-{level}" / "mask.npz")
        shuffled = load_mask(top / f"level-{level}" / "branch-random-prune" / "mask.npz")
        same = load_mask(top / f"level-{level}" / "branch-random-reinit" / "mask.npz")
        assert [int(m.sum()) for m in shuffled.values()] == [int(m.sum()) for m in trunk.values()]
        assert any(not torch.equal(shuffled[k], trunk[k]) for k in trunk)
        assert all(torch.equal(same[k], trunk[k]) for k in trunk)
        reinit = state(top / f"level-{level}" / "branch-random-reinit" / "model_init.pt")
        rewind = state(top / "rewind.pt")
        assert not torch.equal(reinit["fc1.weight"], rewind["fc1.weight"])
        row = lottery.levels[level].branches
        assert row["random-prune"].sparsity == pytest.approx(lottery.levels[level].sparsity)


def test_selection_on_validation_not_test(lottery: LotteryResult) -> None:
    top = Path(lottery.run_dir)
    for row in lottery.levels:
        history = [json.loads(line) for line in (top / f"level-{row.level}" / "metrics.jsonl").read_text().splitlines()]
        best_val = max(history, key=lambda h: h["val_accuracy"])
        assert row.selected_epoch == best_val["epoch"] and row.selected_by == "val"
        assert row.test_accuracy == best_val["test_accuracy"]
        assert row.test_accuracy_selected_on_test == max(h["test_accuracy"] for h in history)


def test_select_epoch_by_hand() -> None:
    history = [
        {"epoch": 1, "val_accuracy": 0.5, "test_accuracy": 0.9},
        {"epoch": 2, "val_accuracy": 0.7, "test_accuracy": 0.6},
        {"epoch": 3, "val_accuracy": 0.7, "test_accuracy": 0.8},
    ]
    chosen = select_epoch(history)
    assert (chosen["selected_epoch"], chosen["test_accuracy"]) == (2, 0.6)  # first best val, its test
    assert chosen["test_accuracy_selected_on_test"] == 0.9 and chosen["final_test_accuracy"] == 0.8
    no_val = select_epoch([{**h, "val_accuracy": None} for h in history])
    assert (no_val["selected_epoch"], no_val["selected_by"], no_val["val_accuracy"]) == (3, "last", None)


def test_second_call_skips_and_adding_a_branch_reuses_the_trunk(tmp_path: Path) -> None:
    cfg = config(levels=1, prune_fraction=0.5, train=TrainConfig(duration="1ep", batch_size=40))
    first = run_lottery(cfg, runs_dir=tmp_path)
    stamp = (Path(first.run_dir) / "level-1" / "result.json").stat().st_mtime_ns
    messages: list[str] = []
    assert run_lottery(cfg, runs_dir=tmp_path, session=Session(log=messages.append)) == first
    assert messages == [f"already complete: {first.run_dir}"]
    more = run_lottery(cfg, runs_dir=tmp_path, branches=["random-reinit"])
    assert (Path(first.run_dir) / "level-1" / "result.json").stat().st_mtime_ns == stamp
    assert more.branches == ["random-reinit"] and "random-reinit" in more.levels[1].branches


def test_rewind_beyond_training_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="beyond level 0"):
        run_lottery(config(levels=1, rewind="5ep"), runs_dir=tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("text, canonical", [("0", "0it"), ("0ep", "0it"), ("2ep", "2ep"), ("500it", "500it")])
def test_rewind_points_are_canonical(text: str, canonical: str) -> None:
    assert LotteryConfig(rewind=text).rewind == canonical


def test_resume_after_kill_gives_identical_results(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["lottery", "--dataset", "synthetic", "--synthetic-shape", "1x10x10", "--synthetic-train", "400",
            "--synthetic-test", "80", "--val", "80", "--width", "0.3", "--levels", "3", "--prune-fraction", "0.4",
            "--epochs", "2", "--batch-size", "20", "--rewind", "1ep", "--branches", "random-prune",
            "--device", "cpu", "--json"]
    ref_runs = tmp_path / "reference"
    reference, span_seconds = cli.timed_reference(
        [*args, "--runs-dir", str(ref_runs)], lambda: bool(list(ref_runs.glob("*/level-*/checkpoint.pt"))),
        lambda: bool(list(ref_runs.glob("*/result.json"))))
    assert reference.code == 0, reference.err
    expected = json.loads(reference.out)
    rng = random.Random(11)
    killed_mid_run = []
    for attempt in range(2):
        runs = tmp_path / f"killed{attempt}"
        resumed, mid_run = cli.kill_and_resume(args, runs, "*/level-*/checkpoint.pt", span_seconds, rng)
        killed_mid_run.append(mid_run)
        assert resumed.code == 0, resumed.err
        got = json.loads(resumed.out)
        strip = lambda r: json.loads(json.dumps(r).replace(str(runs), "ROOT").replace(  # noqa: E731, B023
            str(tmp_path / "reference"), "ROOT"))
        drop_walls(got), drop_walls(expected)
        assert strip(got) == strip(expected)
    assert any(killed_mid_run), "no kill landed before the lottery finished: the test proved nothing"


def drop_walls(result: dict) -> None:
    result.pop("wall_seconds", None)


def test_robustness_reports_on_the_selected_weights(lottery: LotteryResult) -> None:
    """Clean accuracy of the kept best-validation weights equals the level's reported accuracy."""
    from ticketlab.runs.robustness import run_robustness

    top = Path(lottery.run_dir)
    for row in lottery.levels:
        assert (top / f"level-{row.level}" / "model_best.pt").exists()
    records = run_robustness(top / "level-2", corruptions=["contrast"], severities=[1])
    by_dir = {Path(r["run_dir"]).resolve(): r for r in records}
    level = lottery.levels[2]
    assert by_dir[(top / "level-2").resolve()]["clean_accuracy"] == level.test_accuracy
    for branch in level.branches.values():
        assert by_dir[Path(branch.run_dir).resolve()]["clean_accuracy"] == branch.test_accuracy
