"""``ticketlab report`` over lotteries: grouping by setting, mean and spread over seeds."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from ticketlab.data import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.models import ModelConfig
from ticketlab.report.lottery_report import (
    TRUNK,
    curves,
    find_lotteries,
    group_settings,
)
from ticketlab.runs.lottery_run import LotteryResult, LotteryRunConfig, run_lottery
from ticketlab.tickets import LotteryConfig
from ticketlab.training import TrainConfig


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[LotteryResult]]:
    root = tmp_path_factory.mktemp("runs")
    results = []
    for per_class in (10, 20):
        for seed in (0, 1):
            config = LotteryRunConfig(
                data=DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=300,
                                synthetic_test=60, per_class=per_class),
                model=ModelConfig(model="lenet300", width=0.1),
                train=TrainConfig(duration="1ep", batch_size=25),
                lottery=LotteryConfig(levels=2, prune_fraction=0.5),
                seed=seed,
            )
            results.append(run_lottery(config, runs_dir=root, branches=["random-prune"]))
    return root, results


def test_settings_group_seeds_and_label_what_varies(runs: tuple[Path, list[LotteryResult]]) -> None:
    root, results = runs
    settings = group_settings(find_lotteries([root]))
    assert sorted(s.label for s in settings) == ["per_class=10", "per_class=20"]
    assert all(len(s.results) == 2 for s in settings)


def test_means_and_spreads_by_hand(runs: tuple[Path, list[LotteryResult]]) -> None:
    root, results = runs
    setting = next(s for s in group_settings(find_lotteries([root])) if s.label == "per_class=10")
    lines = curves(setting)
    mine = results[:2]  # per_class=10, seeds 0 and 1: the fixture's loop order
    for level in (0, 1, 2):
        values = [r.levels[level].test_accuracy for r in mine]
        point = lines[TRUNK][level]
        assert point["mean"] == pytest.approx(statistics.fmean(values))
        assert point["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))  # sample std of two
        assert point["remaining"] == pytest.approx(100 * 0.5 ** level, abs=0.1)
    assert [p["level"] for p in lines["random-prune"]] == [1, 2]


def test_command_writes_plot_and_table(cli, runs: tuple[Path, list[LotteryResult]], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, _ = runs
    result = cli("report", str(root), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert (tmp_path / "out" / "lottery.png").stat().st_size > 1000
    table = (tmp_path / "out" / "lottery.md").read_text()
    assert "per_class=10" in table and "random-prune" in table and "±" in table


def test_nothing_to_report(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no finished lottery"):
        find_lotteries([tmp_path])


def test_a_config_written_before_a_field_existed_groups_with_the_same_setting(tmp_path: Path) -> None:
    import json

    from ticketlab.report.lottery_report import group_settings

    first, second = tmp_path / "a", tmp_path / "b"
    for path, seed, train in ((first, 0, {"duration": "2ep"}), (second, 1, {"duration": "2ep", "precision": "fp32"})):
        path.mkdir()
        (path / "config.json").write_text(json.dumps({"kind": "lottery", "config": {"train": train, "seed": seed}}))
        (path / "result.json").write_text(json.dumps({"levels": [], "branches": []}))
    (setting,) = group_settings([first, second])
    assert len(setting.results) == 2
