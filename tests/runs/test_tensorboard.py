"""TensorBoard event files: every epoch's metrics, per unit, read back with tensorboard's reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x8x8", "--synthetic-train", "200", "--synthetic-test",
             "50", "--width", "0.2", "--device", "cpu", "--batch-size", "20"]


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_train_writes_every_epoch_of_metrics_jsonl(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("train", *SYNTHETIC, "--epochs", "3", "--val", "20", "--runs-dir", str(tmp_path / "runs"),
                 "--tensorboard", str(tmp_path / "tb"), "--json")
    assert result.code == 0, result.err
    run_dir = Path(json.loads(result.out)["run_dir"])
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    found = scalars(tmp_path / "tb" / run_dir.name)
    for key in ("train_loss", "val_accuracy", "test_accuracy", "lr"):
        assert [step for step, _ in found[key]] == [r["step"] for r in rows]
        assert [value for _, value in found[key]] == pytest.approx([r[key] for r in rows], rel=1e-6)


def test_lottery_units_get_their_own_folders(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("lottery", *SYNTHETIC, "--epochs", "1", "--levels", "1", "--branches", "random-prune",
                 "--runs-dir", str(tmp_path / "runs"), "--tensorboard", str(tmp_path / "tb"), "--json")
    assert result.code == 0, result.err
    top = Path(json.loads(result.out)["run_dir"]).name
    for unit in ("level-0", "level-1", "level-1/branch-random-prune"):
        assert "test_accuracy" in scalars(tmp_path / "tb" / top / unit)


def test_without_tensorboard_the_option_is_a_one_line_error(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    result = cli("train", *SYNTHETIC, "--epochs", "1", "--runs-dir", str(tmp_path), "--tensorboard", str(tmp_path / "tb"))
    assert result.code == 2 and "pip install 'ticketlab[tensorboard]'" in result.err
    assert not list(tmp_path.glob("*/result.json"))
