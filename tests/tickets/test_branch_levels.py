"""--branch-levels: a lottery's branches at chosen levels only, or at the validation-best level."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ticketlab.data import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.models import ModelConfig
from ticketlab.runs import Session
from ticketlab.runs.branch_levels import best_level, fixed_levels, parse_branch_levels
from ticketlab.runs.lottery_run import LOTTERY, LotteryRunConfig, run_lottery
from ticketlab.runs.store import RunDirectory
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=240, synthetic_test=80, val=40)
MODEL = ModelConfig(model="lenet300", width=0.2)
TRAIN = TrainConfig(duration="2ep", batch_size=40, weight_decay=1e-3)


def config(levels: int = 3, **data: object) -> LotteryRunConfig:
    return LotteryRunConfig(data=dataclasses.replace(DATA, **data), model=MODEL, train=TRAIN,  # type: ignore[arg-type]
                            lottery=LotteryConfig(levels=levels, prune_fraction=0.3), seed=1)


def branch_dirs(run_dir: str) -> set[str]:
    return {f"{p.parent.name}/{p.name}" for p in Path(run_dir).glob("level-*/branch-*")}


@pytest.mark.parametrize("text, expected", [(None, None), ("", None), ("best", "best"), (" best ", "best"),
                                            ("4,2,4", (2, 4)), ((3, 1), (1, 3)), ("7", (7,))])
def test_parse(text: object, expected: object) -> None:
    assert parse_branch_levels(text) == expected


@pytest.mark.parametrize("text", ["x", "1,,2", "-1", "1.5", "best,2", [True]])
def test_parse_refuses_what_is_not_levels(text: object) -> None:
    with pytest.raises(ConfigError, match="--branch-levels"):
        parse_branch_levels(text)


def test_fixed_levels_and_their_range() -> None:
    assert fixed_levels(None, 3) == (1, 2, 3)
    assert fixed_levels("best", 3) == ()
    assert fixed_levels((1, 3), 3) == (1, 3)
    for outside in ((0,), (4,)):
        with pytest.raises(ConfigError, match="1 to 3"):
            fixed_levels(outside, 3)


def test_best_level_is_the_best_validation_ties_to_the_sparser() -> None:
    # level 0 (dense) never counts, however good; 2 and 3 tie, so the sparser 3 wins
    assert best_level([(0, 0.99), (1, 0.5), (2, 0.7), (3, 0.7), (4, 0.6)]) == 3
    assert best_level([(0, 0.1), (1, 0.9), (2, 0.2)]) == 1
    with pytest.raises(ConfigError, match="--val"):
        best_level([(0, None), (1, None)])


def test_branches_only_at_the_levels_asked_and_a_new_level_later_reuses_the_rest(tmp_path: Path) -> None:
    first = run_lottery(config(), runs_dir=tmp_path, branches=["random-prune"], branch_levels="2")
    assert branch_dirs(first.run_dir) == {"level-2/branch-random-prune"}
    assert [sorted(r.branches) for r in first.levels] == [[], [], ["random-prune"], []]
    stamp = (Path(first.run_dir) / "level-2" / "branch-random-prune" / "result.json").stat().st_mtime_ns
    # the finished lottery lacks the branch at level 3: asking for it trains that one branch only
    more = run_lottery(config(), runs_dir=tmp_path, branches=["random-prune"], branch_levels=(3,))
    assert branch_dirs(more.run_dir) == {"level-2/branch-random-prune", "level-3/branch-random-prune"}
    assert (Path(first.run_dir) / "level-2" / "branch-random-prune" / "result.json").stat().st_mtime_ns == stamp
    # both are reported, the earlier one kept (as branches asked for earlier always are)
    assert [sorted(r.branches) for r in more.levels] == [[], [], ["random-prune"], ["random-prune"]]
    run = RunDirectory(tmp_path, config())
    assert LOTTERY.finished(run, LOTTERY.with_options({"branches": "random-prune", "branch_levels": "2,3"}))
    assert not LOTTERY.finished(run, LOTTERY.with_options({"branches": "random-prune", "branch_levels": "1"}))
    assert not LOTTERY.finished(run, LOTTERY.with_options({"branches": "random-reinit", "branch_levels": "2"}))


def test_best_runs_the_branch_at_the_validation_best_level(tmp_path: Path) -> None:
    result = run_lottery(config(levels=4), runs_dir=tmp_path, branches=["random-prune"], branch_levels="best")
    # the oracle: the levels' own result files, read directly
    vals = {level: json.loads((Path(result.run_dir) / f"level-{level}" / "result.json").read_text())["val_accuracy"]
            for level in range(1, 5)}
    top = max(vals.values())
    expected = max(level for level, v in vals.items() if v == top)
    assert branch_dirs(result.run_dir) == {f"level-{expected}/branch-random-prune"}
    row = result.levels[expected].branches["random-prune"]
    assert row.kept == result.levels[expected].kept  # the random mask keeps the ticket's count
    messages: list[str] = []
    again = run_lottery(config(levels=4), runs_dir=tmp_path, branches=["random-prune"], branch_levels="best",
                        session=Session(log=messages.append))
    assert again == result and messages == [f"already complete: {result.run_dir}"]


def test_best_without_a_validation_split_fails_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--val"):
        run_lottery(config(val=0), runs_dir=tmp_path, branches=["random-prune"], branch_levels="best")
    assert not list(tmp_path.iterdir())


def test_a_level_outside_the_lottery_fails_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="1 to 3"):
        run_lottery(config(), runs_dir=tmp_path, branches=["random-prune"], branch_levels=(4,))
    assert not list(tmp_path.iterdir())


def test_tasks_hold_only_the_asked_branches() -> None:
    options = LOTTERY.with_options({"branches": "random-prune,random-reinit", "branch_levels": "1"})
    keys = [t.key for t in LOTTERY.tasks(config(), options)]  # type: ignore[misc]
    assert [k for k in keys if "/" in k] == ["level-1/random-prune", "level-1/random-reinit"]
    best = LOTTERY.with_options({"branches": "random-prune", "branch_levels": "best"})
    tasks = LOTTERY.tasks(config(), best)  # type: ignore[misc]
    assert [(t.key, t.after) for t in tasks if "/" in t.key] == [("best/random-prune", ("level-3",))]
    assert tasks[-1].key == "summary" and "best/random-prune" in tasks[-1].after


def test_cli_option_and_its_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["lottery", "--dataset", "synthetic", "--synthetic-shape", "1x10x10", "--synthetic-train", "240",
            "--synthetic-test", "80", "--width", "0.2", "--levels", "2", "--prune-fraction", "0.3", "--epochs", "1",
            "--batch-size", "40", "--branches", "random-prune", "--runs-dir", str(tmp_path), "--json"]
    bad = cli(*args, "--branch-levels", "best")  # no --val
    assert bad.code == 2 and bad.err.count("\n") == 1 and "--val" in bad.err
    bad = cli(*args, "--branch-levels", "5", "--val", "40")
    assert bad.code == 2 and "1 to 2" in bad.err
    assert not list(tmp_path.iterdir())
    good = cli(*args, "--branch-levels", "1", "--val", "40")
    assert good.code == 0, good.err
    assert [sorted(r["branches"]) for r in json.loads(good.out)["levels"]] == [[], ["random-prune"], []]
