"""The Ray executor on a local Ray instance: the same results as the local executor, lottery
chains included, and a killed driver resumed by redoing only the unfinished runs."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

BASE = """
[base]
dataset = "synthetic"
synthetic_shape = "1x10x10"
synthetic_train = {train}
synthetic_test = 50
width = 0.3
epochs = {epochs}
batch_size = 20
"""
PRUNE = 'name = "ray-prune"' + BASE + '[grid]\nmethod = ["random", "magnitude"]\nsparsity = [0.5, 0.9]\nseed = [0, 1]\n'
LOTTERY = ('name = "ray-lottery"\ncommand = "lottery"' + BASE + 'val = 20\nlevels = 2\nprune_fraction = 0.5\n'
           'branches = ["random-prune", "random-reinit"]\n[grid]\nseed = [0, 1]\n')


def results(runs: Path) -> dict[str, dict]:
    """Every finished run's result, without what differs between executions."""
    found = {}
    for path in sorted(runs.glob("*/result.json")):
        text = path.read_text().replace(str(runs), "ROOT")
        found[path.parent.name] = drop_walls(json.loads(text))
    return found


def drop_walls(value: object) -> object:
    if isinstance(value, dict):
        return {k: drop_walls(v) for k, v in value.items() if k not in ("wall_seconds", "seconds")}
    if isinstance(value, list):
        return [drop_walls(v) for v in value]
    return value


def local_reference(cli, sweep: Path, runs: Path) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """The local executor's results, in a process set up as the Ray workers are (one thread)."""
    local = cli.subprocess("sweep", str(sweep), "--runs-dir", str(runs), "--threads", "1", "--quiet")
    assert local.code == 0, local.err
    return results(runs)


def test_lottery_chains_on_ray_give_the_local_executors_results(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(LOTTERY.format(train=200, epochs=1))
    on_ray = cli.subprocess("sweep", str(sweep), "--runs-dir", str(tmp_path / "ray"), "--executor", "ray",
                            "--threads", "1")
    assert on_ray.code == 0, on_ray.err
    expected = local_reference(cli, sweep, tmp_path / "local")
    assert len(expected) == 2 and results(tmp_path / "ray") == expected
    for lottery in (tmp_path / "ray").glob("lottery-*"):
        assert (lottery / "level-2" / "branch-random-reinit" / "result.json").exists()
    assert (tmp_path / "ray" / "sweep-ray-lottery" / "lottery.png").exists()


def test_a_killed_ray_driver_resumes_with_only_the_missing_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """8 prune runs on Ray, the driver killed after the first finishes: the rerun does the
    rest, and all 8 results equal the local executor's."""
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(PRUNE.format(train=600, epochs=8))
    runs = tmp_path / "runs"
    args = ["sweep", str(sweep), "--runs-dir", str(runs), "--executor", "ray", "--threads", "1"]
    proc = cli.popen(*args)
    deadline = time.monotonic() + 240
    while not list(runs.glob("prune-*/result.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    time.sleep(2)  # the local Ray instance notices its driver is gone and stops its workers
    finished_before = len(list(runs.glob("prune-*/result.json")))
    resumed = cli.subprocess(*args)
    assert resumed.code == 0, resumed.err
    to_run = int(re.search(r"sweep: 8 points, (\d+) to run", resumed.err).group(1))  # type: ignore[union-attr]
    assert 0 < to_run == 8 - finished_before, "the kill must land mid-sweep and only the missing runs be redone"
    expected = local_reference(cli, sweep, tmp_path / "reference")
    assert len(expected) == 8 and results(runs) == expected
