"""``ticketlab strong`` end to end on a tiny trained target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ticketlab.masks import load_mask
from ticketlab.runs import Session, TrainingResult
from ticketlab.runs.strong_run import StrongConfig, run_strong


def test_run_reports_every_measure(trained: TrainingResult, tmp_path: Path) -> None:
    result = run_strong(trained.run_dir, StrongConfig(construction="pensia", n=16), runs_dir=tmp_path)
    run_dir = Path(result.run_dir)
    assert {"config.json", "mask.npz", "source.pt", "result.json"} <= {p.name for p in run_dir.iterdir()}
    for key in ("max_rel_weight_error", "max_rel_output_error", "target_test_accuracy", "ticket_test_accuracy",
                "ticket_nonzeros", "source_parameters", "solve_seconds"):
        assert key in result.to_json()
    assert result.target_test_accuracy == pytest.approx(trained.test_accuracy)
    assert abs(result.ticket_test_accuracy - result.target_test_accuracy) <= 0.02
    assert result.max_rel_output_error < 0.01 and result.max_rel_weight_error < 0.1
    assert [row["after"] for row in result.output_errors] == ["fc1", "fc2", "fc3"]
    assert sum(int(m.sum()) for m in load_mask(run_dir / "mask.npz").values()) == result.ticket_nonzeros
    messages: list[str] = []
    again = run_strong(trained.run_dir, StrongConfig(construction="pensia", n=16), runs_dir=tmp_path,
                       session=Session(log=messages.append))
    assert again == result and messages == [f"already complete: {run_dir}"]


def test_cli(cli, trained: TrainingResult, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("strong", "--target", trained.run_dir, "--construction", "burkholz-2l", "--n", "12",
                 "--solver", "smallest", "--eps", "0.001", "--runs-dir", str(tmp_path), "--json")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["construction"] == "burkholz-2l" and parsed["solver"] == "smallest"
    assert "ticket accuracy" in result.err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--target", "/nonexistent"], "no config.json"),
        (["--construction", "magic"], "invalid choice"),
        (["--solver", "smallest"], "--eps"),
        (["--eps", "0.1"], "only applies"),
        (["--n", "0"], "--n must be"),
    ],
)
def test_cli_bad_input(cli, trained: TrainingResult, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    base = ["strong", "--target", trained.run_dir, "--runs-dir", str(tmp_path)]
    result = cli(*base, *args) if args[0] != "--target" else cli("strong", *args, "--runs-dir", str(tmp_path))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and fragment in result.err
    assert not list(tmp_path.glob("*/result.json"))
