"""Prune runs: pruning at init, direct and effective sparsity, training, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks import count_kept, graph_effective_mask, load_mask
from ticketlab.models import ModelConfig, build_model
from ticketlab.pruning import PruneConfig
from ticketlab.runs import RunDirectory, Session
from ticketlab.runs.prune_run import PruneRunConfig, run_prune
from ticketlab.training import TrainConfig

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_train=300, synthetic_test=100)
MODEL = ModelConfig(model="lenet300", width=0.2)


def config(**pruning: object) -> PruneRunConfig:
    train = pruning.pop("train", TrainConfig(duration="1ep", batch_size=50))
    return PruneRunConfig(data=DATA, model=MODEL, train=train, pruning=PruneConfig(**pruning), seed=2)  # type: ignore[arg-type]


def test_prune_run_layout_and_effective_fields(tmp_path: Path) -> None:
    result = run_prune(config(method="random", quota="uniform", sparsity=0.95), runs_dir=tmp_path)
    run_dir = Path(result.run_dir)
    assert run_dir.name.startswith("prune-")
    assert {"config.json", "pruning.json", "mask.npz", "metrics.jsonl", "result.json", "model_init.pt",
            "model_final.pt"} <= {p.name for p in run_dir.iterdir()}
    mask = load_mask(run_dir / "mask.npz")
    model = build_model("lenet300", (1, 10, 10), 10, width=0.2)
    # Oracle: the graph sweep on the saved mask.
    active = graph_effective_mask(model, mask)
    kept, total = count_kept(active)
    assert result.effective_sparsity == pytest.approx(1 - kept / total)
    assert result.effective_sparsity >= result.sparsity > 0.94
    assert [layer["effective_kept"] for layer in result.layers] == [int(a.sum()) for a in active.values()]
    assert result.method == "random" and result.quota == "uniform" and result.target == "direct"
    assert result.disconnected is (kept == 0)
    assert 0 <= result.test_accuracy <= 1


def test_prune_only_with_zero_epochs(tmp_path: Path) -> None:
    result = run_prune(config(method="magnitude", quota="igq", sparsity=0.9, train=TrainConfig(duration="0ep")),
                       runs_dir=tmp_path)
    assert result.steps == 0 and result.epochs == 0 and result.train_loss is None


def test_effective_target_run(tmp_path: Path) -> None:
    result = run_prune(config(method="snip", quota="erk", sparsity=0.97, target="effective"), runs_dir=tmp_path)
    assert result.effective_sparsity <= 0.97
    assert result.sparsity <= result.effective_sparsity
    assert result.pruning["evaluations"] >= 1


def test_restart_reuses_the_saved_mask(tmp_path: Path) -> None:
    cfg = config(method="synflow", quota="global", sparsity=0.9, rounds=5, train=TrainConfig(duration="2ep", batch_size=50))
    run = RunDirectory(tmp_path, cfg)

    class Stop(Exception):
        pass

    def stop(line: str) -> None:
        if line.startswith("epoch"):
            raise Stop

    with pytest.raises(Stop):
        run_prune(cfg, runs_dir=tmp_path, session=Session(log=stop))
    stamp = (run.path / "mask.npz").stat().st_mtime_ns
    messages: list[str] = []
    result = run_prune(cfg, runs_dir=tmp_path, session=Session(log=messages.append))
    assert (run.path / "mask.npz").stat().st_mtime_ns == stamp
    reference = run_prune(cfg, runs_dir=tmp_path / "clean")
    strip = lambda r: {k: v for k, v in r.to_json().items() if k not in ("wall_seconds", "run_dir", "pruning")}  # noqa: E731
    assert strip(result) == strip(reference)


def test_unreachable_quota_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    # lenet300's first layer alone is 60% of its weights: uniform-plus keeps it dense.
    with pytest.raises(ConfigError, match="uniform-plus"):
        run_prune(config(method="magnitude", quota="uniform-plus", sparsity=0.9), runs_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_same_config_same_mask(tmp_path: Path) -> None:
    cfg = config(method="grasp", quota="uniform", sparsity=0.8)
    a = run_prune(cfg, runs_dir=tmp_path / "a")
    b = run_prune(cfg, runs_dir=tmp_path / "b")
    mask_a, mask_b = (load_mask(Path(r.run_dir) / "mask.npz") for r in (a, b))
    assert all(torch.equal(mask_a[k], mask_b[k]) for k in mask_a)
    assert json.loads((Path(a.run_dir) / "metrics.jsonl").read_text().splitlines()[0])["test_loss"] == \
        json.loads((Path(b.run_dir) / "metrics.jsonl").read_text().splitlines()[0])["test_loss"]


def test_reshuffle_keeps_layer_counts_but_moves_weights(tmp_path: Path) -> None:
    plain = run_prune(config(method="snip", quota="erk", sparsity=0.9, train=TrainConfig(duration="0ep")),
                      runs_dir=tmp_path)
    shuffled = run_prune(config(method="snip", quota="erk", sparsity=0.9, reshuffle=True,
                                train=TrainConfig(duration="0ep")), runs_dir=tmp_path)
    assert [layer["kept"] for layer in shuffled.layers] == [layer["kept"] for layer in plain.layers]
    a, b = (load_mask(Path(r.run_dir) / "mask.npz") for r in (plain, shuffled))
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert shuffled.pruning["reshuffled"] is True
