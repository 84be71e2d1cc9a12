"""A new kind of run is one file (config, work, result, summary) and one registry line.

The kind below lives only in this test: it measures a freshly initialised model (no
training) and is registered for the test's duration. It then is a command with generated
options, a sweep's ``command``, and a Python API with hashed, skipped-when-complete runs,
without any other edit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ticketlab.cli.main import main
from ticketlab.config import option
from ticketlab.runs import RUN_KINDS, Job, ModelRunConfig, RunKind, RunResult
from ticketlab.runs.store import RunDirectory


# --- the one file of a new kind --------------------------------------------------------
@dataclass(frozen=True)
class ProbeRunConfig(ModelRunConfig):
    """Measure a model at its initialisation."""

    kind = "probe"

    scale: float = option(1.0, "multiply every weight by this before measuring", metavar="S")


@dataclass
class ProbeResult(RunResult):
    """What a probe reports."""

    parameters: int = 0
    weight_sum: float = 0.0


def probe(job: Job[ProbeRunConfig]) -> ProbeResult:
    """Count the model's parameters and sum |w| of its scaled weights."""
    model = job.build()
    job.run.prepare()
    total = sum(job.config.scale * float(p.detach().abs().sum()) for p in model.parameters())
    return job.finish(job.record(ProbeResult, parameters=sum(p.numel() for p in model.parameters()),
                                 weight_sum=total))


def summary(result: ProbeResult) -> str:
    """One line."""
    return f"probe {result.run_dir}: {result.parameters} parameters, sum |w| {result.weight_sum:.4f}"


PROBE = RunKind(ProbeRunConfig, probe, ProbeResult, summary, help="measure a model at initialisation",
                description="Measure a model at initialisation (a kind of run defined in a test).", trains=False)
# --- end of the file; the one registry line is RUN_KINDS.add (here: for the test's duration) ---

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x6x6", "--synthetic-train", "40",
             "--synthetic-test", "20"]
# lenet300 on 1x6x6 with 10 classes: 36*300 + 300 + 300*100 + 100 + 100*10 + 10, by hand.
LENET300_PARAMETERS = 10_800 + 300 + 30_000 + 100 + 1_000 + 10


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    with RUN_KINDS.registered("probe", PROBE, PROBE.help):
        yield


def test_the_new_kind_is_a_command_with_generated_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["probe", "--help"])
    help_text = capsys.readouterr().out
    for flag in ("--scale", "--model", "--dataset", "--prunable", "--seed", "--runs-dir", "--if-running"):
        assert flag in help_text
    assert "--epochs" not in help_text and "--checkpoint-minutes" not in help_text  # it does not train

    assert main(["probe", *SYNTHETIC, "--scale", "2", "--runs-dir", str(tmp_path), "--json", "--device", "cpu"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["kind"] == "probe" and result["parameters"] == LENET300_PARAMETERS
    assert Path(result["run_dir"]).name.startswith("probe-") and f"{LENET300_PARAMETERS} parameters" in out.err
    assert json.loads((Path(result["run_dir"]) / "result.json").read_text()) == result
    config = json.loads((Path(result["run_dir"]) / "config.json").read_text())
    assert config["kind"] == "probe" and config["config"]["scale"] == 2.0

    # Same config again: skipped, same record; a bad value: one line, status 2, nothing written.
    assert main(["probe", *SYNTHETIC, "--scale", "2", "--runs-dir", str(tmp_path), "--json", "--device", "cpu"]) == 0
    again = capsys.readouterr()
    assert "already complete" in again.err and json.loads(again.out) == result
    assert main(["probe", *SYNTHETIC, "--model", "nonet", "--runs-dir", str(tmp_path / "bad")]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "unknown model 'nonet'" in error
    assert not (tmp_path / "bad").exists()


def test_the_new_kind_runs_from_python_and_in_a_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ticketlab.data import DataConfig
    from ticketlab.runs import run

    config = ProbeRunConfig(data=DataConfig(dataset="synthetic", synthetic_shape="1x6x6"), scale=0.5)
    direct = run(config, runs_dir=tmp_path)
    assert isinstance(direct, ProbeResult) and direct.parameters == LENET300_PARAMETERS
    sweep = tmp_path / "probe.toml"
    sweep.write_text('name = "probes"\ncommand = "probe"\n[base]\ndataset = "synthetic"\nsynthetic_shape = "1x6x6"\n'
                     '[grid]\nscale = [0.5, 1.0]\nseed = [0, 1]\n')
    assert main(["sweep", str(sweep), "--runs-dir", str(tmp_path), "--device", "cpu", "--quiet"]) == 0
    capsys.readouterr()
    runs = sorted(tmp_path.glob("probe-*"))
    assert len(runs) == 4  # the (scale 0.5, seed 0) point is the run made above, reused
    assert RunDirectory(tmp_path, config).path in runs
    rows = (tmp_path / "sweep-probes" / "summary.csv").read_text().splitlines()
    assert rows[0].startswith("scale,seed,status") and len(rows) == 5
    statuses = [row.split(",")[2] for row in rows[1:]]
    assert statuses.count("skipped") == 1 and statuses.count("done") == 3
    # The scaled sums are the unscaled ones times the scale: a check that --scale reached the work.
    results = {json.loads((r / "config.json").read_text())["config"].get("scale", 1.0):
               json.loads((r / "result.json").read_text()) for r in runs
               if json.loads((r / "config.json").read_text())["config"].get("seed", 0) == 1}
    assert results[0.5]["weight_sum"] == pytest.approx(0.5 * results[1.0]["weight_sum"], rel=1e-9)
