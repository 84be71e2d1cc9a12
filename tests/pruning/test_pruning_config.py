"""PruneConfig: defaults, validation with one-line errors naming the flag, resolved rounds."""

from __future__ import annotations

import math

import pytest

from ticketlab.config import config_hash, from_dict, to_dict
from ticketlab.errors import ConfigError
from ticketlab.pruning import QUOTAS, SCORES, PruneConfig


def test_defaults() -> None:
    config = PruneConfig()
    assert (config.method, config.quota, config.sparsity, config.target) == (
        "magnitude",
        "global",
        0.9,
        "direct",
    )
    assert (
        config.rounds is None and config.score_per_class == 10 and config.grasp_temperature == 200.0
    )
    assert config.density == pytest.approx(0.1)


def test_registries_hold_every_method_and_quota() -> None:
    assert SCORES.names() == ["magnitude", "random", "snip", "grasp", "synflow", "lamp"]
    assert QUOTAS.names() == ["global", "uniform", "uniform-plus", "erk", "igq"]
    assert [e.name for e in SCORES if e.value.needs_data] == ["snip", "grasp"]
    assert [e.name for e in QUOTAS if e.value.needs_scores] == ["global"]


@pytest.mark.parametrize(
    "method, rounds", [("synflow", 100), ("magnitude", 1), ("snip", 1), ("lamp", 1)]
)
def test_default_rounds(method: str, rounds: int) -> None:
    assert PruneConfig(method=method).resolved_rounds == rounds
    assert PruneConfig(method=method, rounds=3).resolved_rounds == 3


@pytest.mark.parametrize("sparsity", [1.0, 1.5, -0.01, math.nan])
def test_sparsity_outside_zero_one_is_rejected(sparsity: float) -> None:
    with pytest.raises(ConfigError, match="--sparsity"):
        PruneConfig(sparsity=sparsity)


def test_sparsity_zero_is_allowed() -> None:
    assert PruneConfig(sparsity=0.0).density == 1.0


@pytest.mark.parametrize(
    "field, value, flag",
    [
        ("method", "magic", "--method"),
        ("quota", "proportional", "--quota"),
        ("target", "indirect", "--target"),
        ("rounds", 0, "--rounds"),
        ("score_per_class", 0, "--score-per-class"),
        ("grasp_temperature", 0.0, "--grasp-temperature"),
        ("grasp_temperature", math.inf, "--grasp-temperature"),
    ],
)
def test_invalid_values_name_their_flag(field: str, value: object, flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        PruneConfig(**{field: value})  # type: ignore[arg-type]


def test_round_trip_and_hash_ignore_defaults() -> None:
    config = PruneConfig(method="synflow", quota="igq", sparsity=0.99, rounds=20)
    assert from_dict(PruneConfig, to_dict(config)) == config
    assert config_hash(PruneConfig(), "prune") == config_hash(PruneConfig(rounds=None), "prune")
