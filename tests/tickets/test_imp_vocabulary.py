"""IMP's and annealing's scores and quotas come from the registries; old names and hashes stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ticketlab.cli.main import build_parser
from ticketlab.cli.run_commands import config_from_namespace
from ticketlab.config import config_hash
from ticketlab.errors import ConfigError
from ticketlab.pruning import QUOTAS, SCORES, ScoreMethod
from ticketlab.pruning.scores.simple import magnitude
from ticketlab.runs.lottery_run import LotteryRunConfig
from ticketlab.runs.target_run import TargetRunConfig
from ticketlab.strong.anneal import AnnealConfig
from ticketlab.tickets import LotteryConfig

DATA_FREE = ["magnitude", "random", "synflow", "lamp"]


@pytest.fixture()
def extra_score() -> Iterator[str]:
    with SCORES.registered("test-extra", ScoreMethod(magnitude), "a score registered by this test"):
        yield "test-extra"


def flat(text: str) -> str:
    """Help text with argparse's line wrapping undone."""
    return " ".join(text.split())


def test_uniform_is_stored_as_layerwise_and_names_the_same_run() -> None:
    assert LotteryConfig(scope="uniform").scope == "layerwise"
    assert AnnealConfig(scope="uniform").scope == "layerwise"
    assert LotteryConfig(scope="uniform").quota == LotteryConfig(scope="layerwise").quota == "uniform"
    for scope in ("uniform", "layerwise"):
        lottery = LotteryRunConfig(lottery=LotteryConfig(levels=3, prune_fraction=0.5, scope=scope))
        target = TargetRunConfig(anneal=AnnealConfig(density=0.1, scope=scope))
        # Pinned before quotas were opened up (scope="layerwise" is AnnealConfig's default).
        assert config_hash(target, "target") == "a2d51e3dc7727ff0"
        assert config_hash(lottery, "lottery") == config_hash(
            LotteryRunConfig(lottery=LotteryConfig(levels=3, prune_fraction=0.5, scope="layerwise")), "lottery")


def test_the_default_score_leaves_run_hashes_unchanged() -> None:
    assert config_hash(LotteryRunConfig(lottery=LotteryConfig(score="magnitude")), "lottery") == "842441d7239d071d"
    assert config_hash(TargetRunConfig(anneal=AnnealConfig(score="magnitude")), "target") == "f4448d5a2e24e769"
    assert config_hash(LotteryRunConfig(lottery=LotteryConfig(score="lamp")), "lottery") != "842441d7239d071d"


@pytest.mark.parametrize("make, flag", [(lambda s: LotteryConfig(score=s), "--score"),
                                        (lambda s: AnnealConfig(score=s), "--anneal-score")])
def test_a_data_dependent_score_is_refused_in_one_line(make, flag: str) -> None:  # type: ignore[no-untyped-def]
    for score in ("snip", "grasp"):
        with pytest.raises(ConfigError) as caught:
            make(score)
        message = str(caught.value)
        assert len(message.splitlines()) == 1
        assert message.startswith(f"{flag} {score} needs scoring data")
        assert message.endswith("choose from: " + ", ".join(DATA_FREE))


def test_every_quota_and_the_old_names_are_accepted() -> None:
    for quota in QUOTAS.names():
        expected = "layerwise" if quota == "uniform" else quota
        assert LotteryConfig(scope=quota).scope == expected
        assert AnnealConfig(scope=quota).scope == expected
    with pytest.raises(ConfigError, match="--quota must be one of global, uniform, layerwise, uniform-plus, erk, igq"):
        LotteryConfig(scope="channel")


@pytest.mark.parametrize("argv, scope", [
    (["--scope", "uniform"], "layerwise"), (["--quota", "uniform"], "layerwise"),
    (["--scope", "global"], "global"), (["--quota", "erk"], "erk"), ([], "global"),
])
def test_quota_and_scope_are_one_lottery_option(argv: list[str], scope: str) -> None:
    args = build_parser().parse_args(["lottery", *argv])
    assert config_from_namespace(LotteryConfig, args).scope == scope


@pytest.mark.parametrize("argv, scope", [
    (["--anneal-scope", "uniform"], "layerwise"), (["--anneal-quota", "igq"], "igq"),
    (["--anneal-quota", "global"], "global"), ([], "layerwise"),
])
def test_anneal_quota_and_anneal_scope_are_one_target_option(argv: list[str], scope: str) -> None:
    args = build_parser().parse_args(["target", *argv])
    assert config_from_namespace(AnnealConfig, args).scope == scope


@pytest.mark.parametrize("command, score_flag", [("lottery", "--score"), ("target", "--anneal-score")])
def test_help_lists_every_registered_quota_and_data_free_score(  # type: ignore[no-untyped-def]
    cli, extra_score: str, command: str, score_flag: str
) -> None:
    result = cli(command, "--help")
    assert result.code == 0
    text = flat(result.out)
    for entry in QUOTAS:
        assert f"{entry.name}: {entry.description}" in text
    assert "layerwise: uniform, by the name runs are stored under" in text
    for entry in SCORES:
        assert (f"{entry.name}: {entry.description}" in text) is (not entry.value.needs_data)
    assert extra_score in SCORES.names() and f"{extra_score}: a score registered by this test" in text
    assert score_flag in text


def test_cli_refuses_a_data_dependent_score_in_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("lottery", "--score", "snip")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "invalid choice: 'snip'" in result.err
