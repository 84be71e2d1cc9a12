"""``ticketlab reproduce`` against fake experiment drivers: what it runs and what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ticketlab.cli.reproduce as reproduce
from ticketlab.report.experiments import EXPERIMENTS

DRIVER = """
import json, sys
from pathlib import Path
here = Path(__file__).parent
(here / "argv.json").write_text(json.dumps(sys.argv[1:]))
(here / "results").mkdir(exist_ok=True)
(here / "results" / "summary.md").write_text("| n | acc |\\n|--:|--:|\\n| 30 | 89.44% |\\n")
sys.exit(int("--fail" in sys.argv or (here / "fail").exists()))
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "experiments"
    for name in ("cunha2022", "varma2022"):
        (root / name).mkdir(parents=True)
        (root / name / "run.py").write_text(DRIVER)
    monkeypatch.setattr(reproduce, "experiments_root", lambda: root)
    return root


def test_runs_the_driver_with_its_options_then_writes_the_page(cli, root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("reproduce", "varma2022", "--scale", "full", "--jobs", "2", "--runs-dir", "R", "--device", "cpu",
                 "--report", str(tmp_path / "page"))
    assert result.code == 0, result.err
    assert json.loads((root / "varma2022" / "argv.json").read_text()) == [
        "--scale", "full", "--runs-dir", "R", "--device", "cpu", "--jobs", "2"]
    page = (tmp_path / "page" / "report.html").read_text()
    assert "89.44%" in page and "Not run yet" in page  # its results, and the experiments not run


def test_a_driver_without_scale_or_jobs_gets_neither(cli, root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("reproduce", "cunha2022", "--scale", "full", "--device", "cpu", "--report", str(tmp_path / "page"))
    assert result.code == 0, result.err
    assert json.loads((root / "cunha2022" / "argv.json").read_text()) == ["--runs-dir", "runs", "--device", "cpu"]


@pytest.mark.parametrize("args, message", [
    (["vysogorets2023", "--scale", "full"], "vysogorets2023 has no --scale full"),
    (["nope"], "invalid choice: 'nope'"),
    (["cunha2022", "--jobs", "0"], "--jobs must be at least 1"),
])
def test_bad_requests_are_one_line_errors(cli, root: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("reproduce", *args)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1


def test_a_failing_driver_is_reported_and_no_page_is_written(cli, root: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (root / "cunha2022" / "fail").write_text("")
    result = cli("reproduce", "cunha2022", "--device", "cpu", "--report", str(tmp_path / "page"))
    assert result.code == 2 and "stopped with status 1" in result.err
    assert not (tmp_path / "page").exists()



def test_help_lists_every_experiment_and_how_it_treats_scale_full(cli) -> None:  # type: ignore[no-untyped-def]
    # Generated from EXPERIMENTS: one line each, and each named in exactly one --scale full sentence.
    text = reproduce.describe(EXPERIMENTS)
    listing, scales = text.split("\n\n")[1:3]
    width = max(map(len, EXPERIMENTS)) + 2
    assert listing.splitlines() == [f"  {e.name:<{width}}{'seed ' + e.seed if e.seed else 'beyond the seeds'}: "
                                    f"{e.summary}" for e in EXPERIMENTS.values()]
    sentences = " ".join(scales.split()).split(". ")
    for exp in EXPERIMENTS.values():
        naming = [s for s in sentences if exp.name in s.rpartition(": ")[2].rstrip(".").split(", ")]
        assert len(naming) == 1 and naming[0].startswith(reproduce.full_scale(exp)), exp.name
    assert reproduce.full_scale(EXPERIMENTS["cunha2022"]).endswith("both scales are the same run")
    assert reproduce.full_scale(EXPERIMENTS["varma2022"]) == "A full-scale configuration of its own"
    assert "is refused" in reproduce.full_scale(EXPERIMENTS["vysogorets2023"])
    result = cli("reproduce", "--help")
    assert result.code == 0 and " ".join(text.split()) in " ".join(result.out.split())
