"""Annealed sparse targets: the schedule, nested masks, continued training, resuming, the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch

from ticketlab.config import config_hash
from ticketlab.data import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks import full_mask, load_mask
from ticketlab.models import ModelConfig, build_model
from ticketlab.runs import Session
from ticketlab.runs.store import load_torch_file
from ticketlab.runs.target_run import TargetResult, TargetRunConfig, run_target
from ticketlab.strong.anneal import AnnealConfig, anneal_densities, anneal_step_mask
from ticketlab.training import TrainConfig

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_classes=4, synthetic_train=400,
                  synthetic_test=200, val=40)
SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x6x6", "--synthetic-train", "100", "--synthetic-test", "50"]


def config(**anneal: object) -> TargetRunConfig:
    return TargetRunConfig(data=DATA, model=ModelConfig(model="lenet300", width=0.1),
                           train=TrainConfig(duration="2ep", batch_size=40), anneal=AnnealConfig(**anneal), seed=3)  # type: ignore[arg-type]


def state(path: Path) -> dict[str, torch.Tensor]:
    return load_torch_file(path)["state"]["model"]


def test_schedule_by_hand() -> None:
    # D = 0.1, S = 4: 0.1^(1/4), 0.1^(2/4), 0.1^(3/4), 0.1
    assert anneal_densities(0.1, 4) == pytest.approx([0.5623413251903491, 0.31622776601683794, 0.1778279410038923, 0.1])
    assert anneal_densities(0.1, 4)[-1] == 0.1
    cfg = AnnealConfig(density=0.45, steps=12)
    assert cfg.density_at(0) == 1.0 and cfg.density_at(6) == pytest.approx(0.45 ** 0.5)
    assert AnnealConfig().step_count == 0 and cfg.step_count == 12


@pytest.mark.parametrize("scope", ["layerwise", "global"])
def test_masks_nested_and_densities_reached(scope: str) -> None:
    model = build_model("lenet300", (1, 10, 10), 10, width=0.2, seed=1)
    cfg = AnnealConfig(density=0.1, steps=4, scope=scope)
    alive = full_mask(model)
    total = sum(m.numel() for m in alive.values())
    for step, density in enumerate(anneal_densities(0.1, 4), start=1):
        mask = anneal_step_mask(model, alive, cfg, step, torch.Generator().manual_seed(step))
        assert all(torch.all(mask[k] <= alive[k]) for k in mask)  # nothing revived
        assert sum(int(m.sum()) for m in mask.values()) == round(density * total)
        if scope == "layerwise":
            assert all(abs(int(m.sum()) - density * m.numel()) <= 1 for m in mask.values())
        with torch.no_grad():  # what training under the mask does to pruned weights
            for name, p in model.named_parameters():
                if name in mask:
                    p.mul_(mask[name])
        alive = mask
    if scope == "global":  # one ranking: layers end at different densities
        assert len({round(int(m.sum()) / m.numel(), 2) for m in alive.values()}) > 1


def test_run_hashes_are_pinned() -> None:
    # Changing these renames existing run directories: only on purpose.
    assert config_hash(TargetRunConfig(), "target") == "f4448d5a2e24e769"
    assert config_hash(TargetRunConfig(anneal=AnnealConfig(density=0.1)), "target") == "a2d51e3dc7727ff0"


@pytest.fixture(scope="module")
def annealed(tmp_path_factory: pytest.TempPathFactory) -> TargetResult:
    return run_target(config(density=0.1, steps=4), runs_dir=tmp_path_factory.mktemp("target"))


def test_layout(annealed: TargetResult) -> None:
    top = Path(annealed.run_dir)
    assert top.name.startswith("target-")
    assert sorted(p.name for p in top.iterdir()) == [
        "config.json", "mask.npz", "model_final.pt", "result.json", "step-0", "step-1", "step-2", "step-3", "step-4",
    ]
    for step in range(5):
        files = {p.name for p in (top / f"step-{step}").iterdir()}
        assert files == {"metrics.jsonl", "model_init.pt", "model_final.pt", "result.json"} | ({"mask.npz"} if step else set())
    assert [r.step for r in annealed.steps] == [0, 1, 2, 3, 4]
    assert json.loads((top / "result.json").read_text()) == annealed.to_json()
    assert annealed.density == annealed.steps[-1].density == pytest.approx(0.1, abs=1e-3)


def test_run_densities_per_layer_and_nested(annealed: TargetResult) -> None:
    top = Path(annealed.run_dir)
    masks = [load_mask(top / f"step-{s}" / "mask.npz") for s in range(1, 5)]
    for earlier, later in itertools.pairwise(masks):
        assert all(torch.all(later[k] <= earlier[k]) for k in earlier)
    for row, mask, density in zip(annealed.steps[1:], masks, anneal_densities(0.1, 4)):
        assert row.target_density == pytest.approx(density)
        assert all(abs(int(m.sum()) - density * m.numel()) <= 1 for m in mask.values())
        assert row.kept == sum(int(m.sum()) for m in mask.values())
    assert [layer["kept"] for layer in annealed.layers] == [int(m.sum()) for m in masks[-1].values()]


def test_final_model_is_the_last_step_with_pruned_weights_exactly_zero(annealed: TargetResult) -> None:
    top = Path(annealed.run_dir)
    final, mask = state(top / "model_final.pt"), load_mask(top / "mask.npz")
    last = state(top / "step-4" / "model_final.pt")
    assert all(torch.equal(final[k], last[k]) for k in last) and final.keys() == last.keys()
    assert all(torch.equal(mask[k], m) for k, m in load_mask(top / "step-4" / "mask.npz").items())
    for name, m in mask.items():
        assert torch.count_nonzero(final[name][~m]) == 0 and torch.count_nonzero(final[name][m]) > 0.9 * int(m.sum())


def test_each_step_continues_from_the_previous_weights_masked(annealed: TargetResult) -> None:
    top = Path(annealed.run_dir)
    first_init = state(top / "step-0" / "model_init.pt")
    for step in range(1, 5):
        start, before = state(top / f"step-{step}" / "model_init.pt"), state(top / f"step-{step - 1}" / "model_final.pt")
        mask = load_mask(top / f"step-{step}" / "mask.npz")
        for name in before:
            expected = before[name] * mask[name] if name in mask else before[name]
            assert torch.equal(start[name], expected), name
        assert not torch.equal(start["fc1.bias"], first_init["fc1.bias"])  # not rewound
        assert not torch.equal(state(top / f"step-{step}" / "model_final.pt")["fc1.weight"], start["fc1.weight"])


def test_dense_target_is_step_0_alone(tmp_path: Path) -> None:
    result = run_target(config(), runs_dir=tmp_path)
    top = Path(result.run_dir)
    assert [r.step for r in result.steps] == [0] and result.density == 1.0
    assert not (top / "step-1").exists()
    assert all(bool(m.all()) for m in load_mask(top / "mask.npz").values())
    dense = state(top / "step-0" / "model_final.pt")
    assert all(torch.equal(v, dense[k]) for k, v in state(top / "model_final.pt").items())
    assert result.test_accuracy > 0.5  # 4 classes


def test_interrupted_run_resumes_skipping_finished_steps(annealed: TargetResult, tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    lines: list[str] = []

    def stop_in_step_2(line: str) -> None:
        lines.append(line)
        if sum("epoch" in seen for seen in lines) == 6:  # step 2's second epoch
            raise Stop

    with pytest.raises(Stop):
        run_target(config(density=0.1, steps=4), runs_dir=tmp_path, session=Session(log=stop_in_step_2))
    top = tmp_path / Path(annealed.run_dir).name
    done = {s: (top / f"step-{s}" / "result.json").stat().st_mtime_ns for s in (0, 1)}
    assert (top / "step-2" / "checkpoint.pt").exists() and not (top / "step-2" / "result.json").exists()
    messages: list[str] = []
    resumed = run_target(config(density=0.1, steps=4), runs_dir=tmp_path, session=Session(log=messages.append))
    assert {s: (top / f"step-{s}" / "result.json").stat().st_mtime_ns for s in (0, 1)} == done
    assert any(m.startswith("resuming step-2 at epoch 1") for m in messages)

    def same(result: TargetResult) -> dict:
        text = json.dumps(result.to_json()).replace(str(tmp_path), "ROOT").replace(str(Path(annealed.run_dir).parent),
                                                                            "ROOT")
        return {k: v for k, v in json.loads(text).items() if k != "wall_seconds"}

    assert same(resumed) == same(annealed)
    reference = state(Path(annealed.run_dir) / "model_final.pt")
    assert all(torch.equal(v, reference[k]) for k, v in state(top / "model_final.pt").items())
    again: list[str] = []
    assert run_target(config(density=0.1, steps=4), runs_dir=tmp_path, session=Session(log=again.append)) == resumed
    assert again == [f"already complete: {top}"]



def test_cli_runs_and_prints_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("target", *SYNTHETIC, "--epochs", "1", "--anneal-density", "0.2", "--anneal-steps", "2",
                 "--anneal-scope", "global", "--runs-dir", str(tmp_path), "--json", "--device", "cpu")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert [r["step"] for r in parsed["steps"]] == [0, 1, 2] and parsed["density"] == pytest.approx(0.2, abs=1e-3)
    assert "target density" in result.err and "model_final.pt" in result.err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--anneal-density", "0"], "--anneal-density must be in (0, 1)"),
        (["--anneal-density", "1"], "--anneal-density must be in (0, 1)"),
        (["--anneal-density", "1.5"], "--anneal-density must be in (0, 1)"),
        (["--anneal-density", "-0.1"], "--anneal-density must be in (0, 1)"),
        (["--anneal-density", "0.1", "--anneal-steps", "0"], "--anneal-steps must be at least 1"),
        (["--anneal-steps", "two"], "invalid int value"),
        (["--anneal-scope", "per-neuron"], "invalid choice: 'per-neuron'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(cli, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("target", *SYNTHETIC, *args, "--runs-dir", str(tmp_path))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.err
    assert not list(tmp_path.iterdir())


def test_config_errors_in_python() -> None:
    with pytest.raises(ConfigError, match="--anneal-steps"):
        AnnealConfig(density=0.5, steps=0)
    with pytest.raises(ConfigError, match="--anneal-scope"):
        AnnealConfig(scope="channel")
