"""A score and a quota registered only inside a test reach prune, lottery and target unedited.

The score keeps the SMALLEST |w| (the opposite of magnitude) and the quota fills layers
from the last one back, so their use shows in the masks: per-layer counts written out by
hand, and within fc1 every kept weight no larger than any pruned survivor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor

from ticketlab.masks import Mask, load_mask
from ticketlab.pruning import QUOTAS, SCORES, ScoreContext, ScoreMethod
from ticketlab.pruning.quotas import Quota
from ticketlab.runs.store import load_torch_file

SCORE, QUOTA = "smallest-first", "last-first"
# LeNet-300-100 at width 0.2 on 1x10x10 inputs: fc1 60x100, fc2 20x60, fc3 10x20; N = 7400.
SYNTHETIC = ["--model", "lenet300", "--width", "0.2", "--dataset", "synthetic", "--synthetic-shape", "1x10x10",
             "--synthetic-train", "100", "--synthetic-test", "20", "--iterations", "2", "--batch-size", "50",
             "--device", "cpu", "--json", "--quiet"]
# last-first: fc3 and fc2 dense (200 + 1200), fc1 the rest of round(d * 7400).
AT_HALF = {"fc1.weight": 3700 - 1400, "fc2.weight": 1200, "fc3.weight": 200}
AT_QUARTER = {"fc1.weight": 1850 - 1400, "fc2.weight": 1200, "fc3.weight": 200}


def smallest_first(ctx: ScoreContext) -> dict[str, Tensor]:
    """-|w|: the largest weights are pruned first."""
    return {name: -w.detach().abs() for name, w in ctx.weights().items()}


def last_first(
    shapes: dict[str, torch.Size], density: float, scores: dict[str, Tensor] | None = None
) -> dict[str, float]:
    """Dense layers from the last one back until density * N is spent."""
    left = density * sum(shape.numel() for shape in shapes.values())
    counts = {}
    for name in reversed(list(shapes)):
        counts[name] = min(float(shapes[name].numel()), left)
        left -= counts[name]
    return counts


@pytest.fixture()
def registered() -> Iterator[None]:
    with SCORES.registered(SCORE, ScoreMethod(smallest_first), "keeps the smallest |w|"), \
            QUOTAS.registered(QUOTA, Quota(last_first), "dense from the last layer back"):
        yield


def state(path: Path) -> dict[str, Tensor]:
    return load_torch_file(path)["state"]["model"]


def check(mask: Mask, counts: dict[str, int], weights: dict[str, Tensor], survivors: Mask | None) -> None:
    assert {name: int(m.sum()) for name, m in mask.items()} == counts
    kept = mask["fc1.weight"]
    alive = survivors["fc1.weight"] if survivors is not None else torch.ones_like(kept)
    assert not torch.any(kept & ~alive)
    magnitudes = weights["fc1.weight"].abs()
    assert magnitudes[kept].max() <= magnitudes[alive & ~kept].min()  # magnitude would do the opposite


def test_prune(cli, tmp_path: Path, registered: None) -> None:  # type: ignore[no-untyped-def]
    result = cli("prune", *SYNTHETIC, "--method", SCORE, "--quota", QUOTA, "--sparsity", "0.5",
                 "--runs-dir", str(tmp_path))
    assert result.code == 0, result.err
    run = Path(json.loads(result.out)["run_dir"])
    check(load_mask(run / "mask.npz"), AT_HALF, state(run / "model_init.pt"), None)


def test_lottery(cli, tmp_path: Path, registered: None) -> None:  # type: ignore[no-untyped-def]
    result = cli("lottery", *SYNTHETIC, "--score", SCORE, "--quota", QUOTA, "--levels", "2",
                 "--prune-fraction", "0.5", "--runs-dir", str(tmp_path))
    assert result.code == 0, result.err
    top = Path(json.loads(result.out)["run_dir"])
    level1 = load_mask(top / "level-1" / "mask.npz")
    check(level1, AT_HALF, state(top / "level-0" / "model_final.pt"), None)
    check(load_mask(top / "level-2" / "mask.npz"), AT_QUARTER, state(top / "level-1" / "model_final.pt"), level1)


def test_target(cli, tmp_path: Path, registered: None) -> None:  # type: ignore[no-untyped-def]
    result = cli("target", *SYNTHETIC, "--anneal-density", "0.25", "--anneal-steps", "2",
                 "--anneal-score", SCORE, "--anneal-quota", QUOTA, "--runs-dir", str(tmp_path))
    assert result.code == 0, result.err
    top = Path(json.loads(result.out)["run_dir"])
    step1 = load_mask(top / "step-1" / "mask.npz")
    check(step1, AT_HALF, state(top / "step-0" / "model_final.pt"), None)
    check(load_mask(top / "step-2" / "mask.npz"), AT_QUARTER, state(top / "step-1" / "model_final.pt"), step1)


def test_gone_after_the_block(cli) -> None:  # type: ignore[no-untyped-def]
    assert SCORE not in SCORES and QUOTA not in QUOTAS
    result = cli("lottery", "--score", SCORE)
    assert result.code == 2 and "invalid choice" in result.err
