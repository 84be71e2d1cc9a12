"""Data sets over the memory budget: memory-mapped uint8 images, identical batches and runs."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ticketlab.cli.parser import parse_memory
from ticketlab.data import DataConfig, load_data
from ticketlab.data.batches import eval_batches, train_batches
from ticketlab.data.load import channel_stats
from ticketlab.data.mapped import MappedImages, cache_dir
from ticketlab.errors import ConfigError
from ticketlab.models.config import ModelConfig
from ticketlab.runs import Session, TrainRunConfig, run_train
from ticketlab.training import TrainConfig

SYNTHETIC = dict(dataset="synthetic", synthetic_shape="3x8x8", synthetic_train=300, synthetic_test=100)
SYNTHETIC_ARGS = ["--dataset", "synthetic", "--synthetic-shape", "1x10x10", "--synthetic-train", "600",
                  "--synthetic-test", "100"]


def test_mapped_rows_are_the_in_memory_rows_bit_for_bit() -> None:
    cfg = DataConfig(**SYNTHETIC, val=40, per_class=20)  # type: ignore[arg-type]
    memory = load_data(cfg)
    mapped = load_data(cfg, max_memory=1)
    assert isinstance(mapped.train.x, MappedImages) and isinstance(memory.train.x, torch.Tensor)
    assert list(cache_dir().glob("mapped/*/x_train.npy"))
    assert mapped.info == memory.info
    for a, b in ((memory.train, mapped.train), (memory.val, mapped.val), (memory.test, mapped.test)):
        assert a is not None and b is not None
        assert b.x.shape == a.x.shape and b.x.device == a.x.device and len(b) == len(a)
        assert torch.equal(a.y, b.y) and torch.equal(a.pad_value, b.pad_value)
        index = torch.randperm(len(a), generator=torch.Generator().manual_seed(0))[:37]
        assert torch.equal(b.x[index], a.x[index])
        assert torch.equal(b.x[5:17], a.x[5:17]) and torch.equal(b.x[:], a.x)
    for (xa, ya), (xb, yb) in zip(
        train_batches(memory.train, 32, seed=1, epoch=2, augment="crop+flip", start_batch=2),
        train_batches(mapped.train, 32, seed=1, epoch=2, augment="crop+flip", start_batch=2),
    ):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    for (xa, _), (xb, _) in zip(eval_batches(memory.test, 30), eval_batches(mapped.test, 30)):
        assert torch.equal(xa, xb)
    # A second load reads the cached copy; a budget the data fits in keeps tensors.
    again = load_data(cfg, max_memory=1)
    assert torch.equal(again.train.x[:], memory.train.x)
    assert isinstance(load_data(cfg, max_memory=10**9).train.x, torch.Tensor)


def test_npz_data_set_is_mapped_identically(tmp_path: Path, files) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=files.images(50, (6, 6, 3), 1), y_train=files.labels(50, 5).astype(np.int64),
             x_test=files.images(20, (6, 6, 3), 2), y_test=files.labels(20, 5).astype(np.int64))
    cfg = DataConfig(dataset=f"npz:{path}")
    memory, mapped = load_data(cfg), load_data(cfg, max_memory=1)
    assert isinstance(mapped.test.x, MappedImages)
    assert mapped.info == memory.info
    assert torch.equal(mapped.train.x[:], memory.train.x) and torch.equal(mapped.test.x[:], memory.test.x)
    # Rewritten files get a fresh copy, which replaces the old one.
    np.savez(path, x_train=files.images(50, (6, 6, 3), 3), y_train=files.labels(50, 5).astype(np.int64),
             x_test=files.images(20, (6, 6, 3), 4), y_test=files.labels(20, 5).astype(np.int64))
    changed = load_data(cfg, max_memory=1)
    assert torch.equal(changed.test.x[:], load_data(cfg).test.x)
    assert not torch.equal(changed.test.x[:], memory.test.x)
    assert len(list(cache_dir().glob("mapped/*"))) == 1


def test_chunked_channel_stats_are_exact() -> None:
    images = torch.from_numpy(np.random.default_rng(3).integers(0, 256, (70, 3, 5, 5), dtype=np.uint8))
    whole = channel_stats(images)
    assert channel_stats(images.numpy(), chunk=7) == whole
    pixels = images.transpose(0, 1).reshape(3, -1).double() / 255
    assert whole[0] == pytest.approx(pixels.mean(1).tolist(), rel=1e-14)
    assert whole[1] == pytest.approx(pixels.std(1, correction=0).tolist(), rel=1e-12)
    assert channel_stats(torch.full((4, 1, 2, 2), 7, dtype=torch.uint8))[1] == (1e-6,)


def test_max_memory_sizes() -> None:
    assert parse_memory("512M") == 512 * 2**20 and parse_memory("4G") == 4 * 2**30
    assert parse_memory("1000") == 1000 and parse_memory("1.5k") == 1536
    with pytest.raises(ConfigError, match="--max-memory"):
        parse_memory("lots")


def metrics_without_seconds(run_dir: Path) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "model_final.pt", weights_only=True)["state"]["model"]


def test_mapped_training_run_is_identical(tmp_path: Path) -> None:
    config = TrainRunConfig(
        data=DataConfig(**SYNTHETIC, val=50, augment="crop+flip"),  # type: ignore[arg-type]
        model=ModelConfig(model="conv2", width=0.25),
        train=TrainConfig(duration="2ep", batch_size=32),
        sparsity=0.5,
        seed=3,
    )
    memory = run_train(config, runs_dir=tmp_path / "memory", session=Session(max_memory=None))
    mapped = run_train(config, runs_dir=tmp_path / "mapped", session=Session(max_memory=1))
    a, b = Path(memory.run_dir), Path(mapped.run_dir)
    assert metrics_without_seconds(a) == metrics_without_seconds(b)
    wa, wb = final_weights(a), final_weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert memory.test_accuracy == mapped.test_accuracy and memory.test_loss == mapped.test_loss


def test_mapped_resume_after_kill_matches_in_memory_run(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    args = ["train", *SYNTHETIC_ARGS, "--model", "conv2", "--width", "0.25", "--epochs", "4", "--batch-size", "20",
            "--sparsity", "0.5", "--augment", "crop+flip", "--seed", "1", "--device", "cpu", "--json"]
    ref_runs = tmp_path / "reference"
    reference, span_seconds = cli.timed_reference(
        [*args, "--runs-dir", str(ref_runs), "--max-memory", "4G"],
        lambda: bool(list(ref_runs.glob("*/checkpoint.pt"))),
        lambda: bool(list(ref_runs.glob("*/result.json"))))
    assert reference.code == 0, reference.err
    expected = json.loads(reference.out)
    rng = random.Random(11)
    killed_mid_run = []
    for attempt in range(2):
        runs = tmp_path / f"killed{attempt}"
        resumed, mid_run = cli.kill_and_resume([*args, "--max-memory", "1"], runs, "*/checkpoint.pt", span_seconds, rng)
        killed_mid_run.append(mid_run)
        run_dir = runs / Path(expected["run_dir"]).name
        assert resumed.code == 0, resumed.err
        got = json.loads(resumed.out)
        strip = ("wall_seconds", "run_dir")
        assert {k: v for k, v in got.items() if k not in strip} == {
            k: v for k, v in expected.items() if k not in strip
        }
        assert metrics_without_seconds(run_dir) == metrics_without_seconds(Path(expected["run_dir"]))
        final, ref = final_weights(run_dir), final_weights(Path(expected["run_dir"]))
        assert all(torch.equal(final[k], ref[k]) for k in ref)
    assert list(cache_dir().glob("mapped/*/x_train.npy")), "the runs were not memory-mapped"
    assert any(killed_mid_run), "no kill landed before the run finished: the test proved nothing"
