"""Sweep files: parsing, grid expansion, and the mapping of option names to configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketlab.errors import ConfigError
from ticketlab.runs.prune_run import PruneRunConfig
from ticketlab.runs.sweep import (
    compression_range,
    expand,
    load_sweep,
)
from ticketlab.runs.values import config_from_values


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def test_quarter_decades_from_10_to_10000() -> None:
    values = compression_range({"from": 10, "to": 10000, "per_decade": 4})
    assert len(values) == 13
    assert values[0] == 10 and values[4] == 100 and values[8] == 1000 and values[-1] == 10000
    assert values[1] == pytest.approx(10 ** 1.25, rel=1e-6)


def test_grid_is_the_cartesian_product(tmp_path: Path) -> None:
    spec = load_sweep(write(tmp_path, """
name = "tiny"
[base]
model = "lenet300"
dataset = "synthetic"
epochs = 2
batch-size = 32
[grid]
method = ["random", "magnitude"]
quota = ["uniform", "igq", "erk"]
compression = [10, 100]
seed = [0, 1]
"""))
    points = expand(spec)
    assert spec.name == "tiny" and len(points) == 2 * 3 * 2 * 2
    first = points[0].config
    assert first is not None
    assert first.model.model == "lenet300" and first.data.dataset == "synthetic"
    assert first.train.duration == "2ep" and first.train.batch_size == 32
    assert first.pruning.method == "random" and first.pruning.quota == "uniform"
    assert first.pruning.sparsity == pytest.approx(0.9) and first.seed == 0
    assert points[-1].config.pruning.sparsity == pytest.approx(0.99)
    assert len({p.label() for p in points}) == len(points)


def test_config_from_values_maps_every_group() -> None:
    config = config_from_values(PruneRunConfig, {
        "per_class": 50, "val": 100, "init": "kaiming-normal", "width": 0.5, "iterations": 300,
        "optimizer": "adam", "prunable": "conv", "rounds": 10, "target": "effective", "sparsity": 0.5, "seed": 3,
    })
    assert config.data.per_class == 50 and config.data.val == 100
    assert config.model.init == "kaiming-normal" and config.model.width == 0.5
    assert config.train.duration == "300it" and config.train.optimizer == "adam"
    assert config.prunable.prunable == "conv"
    assert config.pruning.rounds == 10 and config.pruning.target == "effective" and config.seed == 3


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epochz": 3}, "unknown option 'epochz'"),
        ({"epochs": 3, "iterations": 5}, "not both"),
        ({"compression": 0.5}, "at least 1"),
        ({"sparsity": 1.0}, "sparsity"),
    ],
)
def test_bad_values(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_values(PruneRunConfig, values)


def test_invalid_point_is_recorded_not_raised(tmp_path: Path) -> None:
    spec = load_sweep(write(tmp_path, """
[base]
dataset = "synthetic"
[grid]
sparsity = [0.5, 1.5]
"""))
    points = expand(spec)
    assert points[0].config is not None and points[0].error is None
    assert points[1].config is None and "sparsity" in points[1].error


@pytest.mark.parametrize(
    "text, message",
    [
        ("[grid]\nmethod = 'random'\n", "non-empty list"),
        ("[grid]\nmethod = []\n", "non-empty list"),
        ("[base]\nseed = 1\n[grid]\nseed = [1, 2]\n", r"both \[base\] and \[grid\]"),
        ("[grids]\nseed = [1]\n", "unknown table"),
        ("[grid\n", "not valid TOML"),
        ("[grid]\ncompression = [10]\nsparsity = [0.5]\n", "not both"),
        ("[base]\nepochz = 3\n[grid]\nseed = [0]\n", r"unknown option\(s\) epochz in \[base\] for command 'prune'"),
        ("[grid]\nseed = [0]\nlr-drop = [1, 2]\nquotaa = [1]\n", r"unknown option\(s\) lr-drop, quotaa in \[grid\]"),
        ('command = "train"\n[grid]\nquota = ["igq"]\n', r"unknown option\(s\) quota in \[grid\] for command 'train'"),
    ],
)
def test_bad_sweep_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sweep(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read sweep file"):
        load_sweep(tmp_path / "nope.toml")


def test_lottery_sweeps_build_lottery_configs_and_keep_branches_apart(tmp_path: Path) -> None:
    from ticketlab.runs.lottery_run import LotteryRunConfig

    path = write(tmp_path, 'command = "lottery"\n[base]\nlevels = 3\nprune_fraction = 0.2\n'
                           'branches = ["random-prune"]\nepochs = 2\n[grid]\nseed = [0, 1]\n')
    points = expand(load_sweep(path))
    assert [p.options["branches"] for p in points] == [("random-prune",)] * 2
    config = points[1].config
    assert isinstance(config, LotteryRunConfig) and config.seed == 1 and config.lottery.levels == 3
    assert config.train.duration == "2ep"


def test_lottery_sweeps_carry_branch_levels(tmp_path: Path) -> None:
    path = write(tmp_path, 'command = "lottery"\n[base]\nlevels = 3\nbranches = ["random-prune"]\nval = 40\n'
                           '[grid]\nbranch_levels = ["best", [1, 3]]\n')
    points = expand(load_sweep(path))
    assert [p.options["branch_levels"] for p in points] == ["best", (1, 3)]
    assert all(p.config is not None and p.error is None for p in points)


@pytest.mark.parametrize(
    "text, message",
    [
        ('command = "lottery"\n[grid]\ncompression = [10]\n',
         "compression needs a run with a sparsity option; lottery runs have none"),
        ('[base]\nbranches = ["random-prune"]\n[grid]\nseed = [0]\n', "branches belong to lottery sweeps"),
    ],
)
def test_options_of_the_other_command_make_a_point_invalid(tmp_path: Path, text: str, message: str) -> None:
    points = expand(load_sweep(write(tmp_path, text)))
    assert points[0].config is None and message in (points[0].error or "")


def test_an_option_of_this_command_is_not_foreign_when_another_kind_has_a_run_option_of_that_name(
        tmp_path: Path) -> None:
    # strong runs have a run option named target (the trained target); prune's --target is a config field
    points = expand(load_sweep(write(tmp_path, '[base]\ntarget = "effective"\nreshuffle = true\n'
                                               '[grid]\ncompression = [100]\n')))
    config = points[0].config
    assert isinstance(config, PruneRunConfig), points[0].error
    assert config.pruning.target == "effective" and config.pruning.reshuffle


def test_an_unknown_command_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command must be one of train, prune, lottery, imc, target, edge-popup"):
        load_sweep(write(tmp_path, 'command = "nope"\n[grid]\nseed = [0]\n'))


def test_a_finished_lottery_point_runs_again_for_a_branch_it_lacks(tmp_path: Path) -> None:
    from ticketlab.runs.sweep_exec import execute
    from ticketlab.runs.worker import WorkerOptions

    text = ('command = "lottery"\n[base]\ndataset = "synthetic"\nsynthetic_shape = "1x6x6"\nsynthetic_train = 100\n'
            'synthetic_test = 20\nwidth = 0.1\nepochs = 1\nbatch_size = 20\nlevels = 1\n{branches}[grid]\nseed = [0]\n')
    options = WorkerOptions(runs_dir=str(tmp_path / "runs"))
    first = execute(expand(load_sweep(write(tmp_path, text.format(branches="")))), "lottery", options)
    assert first[0].status == "done" and first[0].result.branches == []
    again = execute(expand(load_sweep(write(tmp_path, text.format(branches='branches = ["random-prune"]\n')))),
                    "lottery", options)
    assert again[0].status == "done" and again[0].result.branches == ["random-prune"]
    assert execute(expand(load_sweep(write(tmp_path, text.format(branches='branches = ["random-prune"]\n')))),
                   "lottery", options)[0].status == "skipped"


def test_a_sweep_with_an_unknown_key_runs_nothing_and_exits_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, '[base]\ndataset = "synthetic"\nepochz = 1\n[grid]\nseed = [0, 1]\n')
    result = cli("sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--device", "cpu")
    assert result.code == 2 and "unknown option(s) epochz" in result.err
    assert result.err.strip().count("\n") == 0 and not (tmp_path / "runs").exists()
