"""edge-popup: top-k masks, the straight-through gradient, frozen weights, runs and the CLI."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from ticketlab.cli import main as main_module
from ticketlab.config import config_hash
from ticketlab.data import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks import PrunableSpec, apply_mask, load_mask, prunable_parameters
from ticketlab.models import ModelConfig, build_from_config, build_model
from ticketlab.runs import Session
from ticketlab.runs.edge_popup_run import EdgePopupResult, EdgePopupRunConfig, run_edge_popup
from ticketlab.runs.store import load_torch_file
from ticketlab.strong.edge_popup import (
    EdgePopupConfig,
    SubnetConv2d,
    SubnetLinear,
    plain_state_dict,
    popup_mask,
    subnet_layers,
    to_edge_popup,
)
from ticketlab.training import TrainConfig, evaluate

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x10x10", synthetic_classes=4, synthetic_train=400,
                  synthetic_test=200)
SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x6x6", "--synthetic-train", "100", "--synthetic-test", "50"]


def popup(model: nn.Module, spec: str = "conv,linear", **options: object) -> nn.Module:
    return to_edge_popup(model, PrunableSpec(spec), EdgePopupConfig(**options),  # type: ignore[arg-type]
                         weight_generator=torch.Generator().manual_seed(1), score_generator=torch.Generator().manual_seed(2))


def config() -> EdgePopupRunConfig:
    return EdgePopupRunConfig(data=DATA, model=ModelConfig(model="lenet300", width=0.1),
                              train=TrainConfig(duration="5ep", batch_size=40), popup=EdgePopupConfig(density=0.5), seed=2)


def state(path: Path) -> dict[str, torch.Tensor]:
    return load_torch_file(path)["state"]["model"]


@pytest.mark.parametrize("density", [0.01, 0.3, 0.5, 0.77, 1.0])
def test_top_k_keeps_exactly_round_density_n_of_largest_scores(density: float) -> None:
    model = popup(build_model("conv2", (1, 6, 6), 4, width=0.1), density=density)
    masks = popup_mask(model)
    assert list(masks) == list(prunable_parameters(build_model("conv2", (1, 6, 6), 4, width=0.1)))
    for name, layer in subnet_layers(model).items():
        mask, scores = masks[name], layer.scores.detach().abs()
        assert mask.dtype == torch.bool and mask.shape == layer.weight.shape
        assert int(mask.sum()) == round(density * mask.numel())
        if 0 < int(mask.sum()) < mask.numel():
            assert scores[mask].min() > scores[~mask].max()


def test_straight_through_gradient_by_hand() -> None:
    plain = nn.Linear(3, 2, bias=False)
    layer = SubnetLinear.wrap(plain, density=0.5)  # keeps round(0.5 * 6) = 3 entries
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [1.5, -0.5, 1.0]]))
        layer.scores.copy_(torch.tensor([[0.9, -0.1, -0.8], [0.2, 0.7, -0.3]]))
    layer.weight.requires_grad_(False)
    x = torch.tensor([[1.0, 2.0, -1.0]])
    c = torch.tensor([[2.0, -3.0]])
    loss = (layer(x) * c).sum()  # d loss / d w_eff[i, j] = c_i * x_j
    loss.backward()
    kept = torch.tensor([[True, False, True], [False, True, False]])  # |s| 0.9, 0.8, 0.7
    assert torch.equal(layer.subnet_mask(), kept)
    w_eff = layer.weight * kept
    assert loss.item() == pytest.approx(float((c.T * x * w_eff).sum()))
    d_weff = torch.tensor([[2.0, 4.0, -2.0], [-3.0, -6.0, 3.0]])
    # Straight through the top-k to |s|: d_weff * w, for dropped entries too; then |s| -> s.
    by_hand = torch.tensor([[2.0 * 0.5, 4.0 * -1.0 * -1, -2.0 * 2.0 * -1], [-3.0 * 1.5, -6.0 * -0.5, 3.0 * 1.0 * -1]])
    assert torch.equal(layer.scores.grad, by_hand)
    assert torch.equal(layer.scores.grad, d_weff * layer.weight * layer.scores.sign())
    assert layer.weight.grad is None


def test_straight_through_gradient_of_a_conv_matches_autograd_of_the_effective_weight() -> None:
    torch.manual_seed(0)
    layer = SubnetConv2d.wrap(nn.Conv2d(2, 3, 3, padding=1, bias=False), density=0.4)
    nn.init.uniform_(layer.scores, 0.01, 1.0)  # positive scores: d loss / d score = d loss / d w_eff * w exactly
    layer.weight.requires_grad_(False)
    x = torch.randn(2, 2, 5, 5)
    target = torch.randn(2, 3, 5, 5)
    ((layer(x) - target) ** 2).sum().backward()
    w_eff = (layer.weight * layer.subnet_mask()).clone().requires_grad_(True)
    ((nn.functional.conv2d(x, w_eff, padding=1) - target) ** 2).sum().backward()
    assert torch.allclose(layer.scores.grad, w_eff.grad * layer.weight, rtol=1e-6, atol=1e-7)
    assert int(layer.subnet_mask().sum()) == round(0.4 * 54)


@pytest.mark.parametrize("scale", [False, True])
def test_signed_constant_magnitudes_are_exact(scale: bool) -> None:
    model = popup(build_model("lenet300", (1, 10, 10), 4, width=0.1), "conv,linear,no-last", density=0.25,
                  weight_init="signed-constant", scale_by_density=scale)
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan = module.weight[0].numel() * (0.25 if scale and name != "fc3" else 1.0)  # fc3 is dense: never scaled
            expected = torch.tensor(math.sqrt(2.0 / fan), dtype=torch.float32)
            assert torch.equal(module.weight.abs(), expected.expand_as(module.weight))
            positive = float((module.weight > 0).float().mean())
            assert 0.25 < positive < 0.75 or module.weight.numel() < 50
    assert isinstance(model.fc3, nn.Linear) and not isinstance(model.fc3, SubnetLinear)


def test_kaiming_normal_scaled_by_density_is_the_same_draw_rescaled() -> None:
    def weights(scale: bool) -> torch.Tensor:
        model = popup(build_model("lenet300", (1, 10, 10), 4, width=0.5), density=0.25, weight_init="kaiming-normal",
                      scale_by_density=scale)
        return model.fc1.weight.detach().clone()

    plain, scaled = weights(False), weights(True)
    assert torch.allclose(scaled, plain * 2.0, rtol=1e-6)  # 1 / sqrt(0.25)
    assert float(plain.std()) == pytest.approx(math.sqrt(2.0 / 100), rel=0.05)


def test_only_scores_are_trainable() -> None:
    model = popup(build_model("resnet20", (3, 8, 8), 4, width=0.25))
    flags = {name: p.requires_grad for name, p in model.named_parameters()}
    assert any(name.endswith(".bn1.weight") for name in flags)
    assert all(flags[name] == name.endswith(".scores") for name in flags)
    biased = popup(build_model("lenet300", (1, 10, 10), 4, width=0.1))
    assert not biased.fc1.bias.requires_grad and biased.fc1.bias.abs().sum() > 0  # frozen at PyTorch's init
    assert list(plain_state_dict(biased)) == list(build_model("lenet300", (1, 10, 10), 4, width=0.1).state_dict())


@pytest.mark.parametrize("density", [0.0, -0.1, 1.5, float("nan")])
def test_density_outside_zero_one_is_a_config_error(density: float) -> None:
    with pytest.raises(ConfigError, match=r"--density must be in \(0, 1\]"):
        EdgePopupConfig(density=density)


def test_run_hashes_are_pinned() -> None:
    # Changing these renames existing run directories: only on purpose.
    assert config_hash(EdgePopupRunConfig(), "edge-popup") == "7a74e4c58973ac3a"
    scaled = EdgePopupRunConfig(popup=EdgePopupConfig(density=0.1, scale_by_density=True))
    assert config_hash(scaled, "edge-popup") == "4e3c03cbfb250241"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> EdgePopupResult:
    return run_edge_popup(config(), runs_dir=tmp_path_factory.mktemp("popup"))


def test_run_layout_and_result(trained: EdgePopupResult) -> None:
    top = Path(trained.run_dir)
    assert top.name.startswith("edge-popup-")
    assert sorted(p.name for p in top.iterdir()) == [
        "config.json", "mask.npz", "metrics.jsonl", "model_final.pt", "popup_final.pt", "popup_init.pt", "result.json",
    ]
    assert json.loads((top / "result.json").read_text()) == trained.to_json()
    mask = load_mask(top / "mask.npz")
    assert list(mask) == ["fc1.weight", "fc2.weight", "fc3.weight"]
    assert [int(m.sum()) for m in mask.values()] == [1500, 150, 20]  # half of 30x100, 10x30, 4x10
    assert trained.density == 0.5 and trained.sparsity == 0.5
    assert trained.effective_sparsity >= trained.sparsity
    assert trained.trainable_parameters == 3340 and trained.parameters == 3340 + 44  # + biases


def test_frozen_weights_are_bit_identical_and_scores_moved(trained: EdgePopupResult) -> None:
    top = Path(trained.run_dir)
    init, final, plain = state(top / "popup_init.pt"), state(top / "popup_final.pt"), state(top / "model_final.pt")
    assert list(plain) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    for name in plain:
        assert torch.equal(init[name], final[name]) and torch.equal(final[name], plain[name])
    for name in ("fc1.scores", "fc2.scores", "fc3.scores"):
        assert not torch.equal(init[name], final[name])


def test_training_beats_chance_and_the_plain_masked_model_scores_the_same(trained: EdgePopupResult) -> None:
    assert trained.test_accuracy > 0.5 and trained.train_accuracy > 0.5  # 4 classes: chance is 0.25
    top = Path(trained.run_dir)
    data = Session().load_data(DATA)
    model = build_from_config(ModelConfig(model="lenet300", width=0.1), (1, 10, 10), 4, seed=0)
    model.load_state_dict(state(top / "model_final.pt"))
    apply_mask(model, load_mask(top / "mask.npz"))
    assert evaluate(model, data.test, 1000)[1] == trained.test_accuracy


def test_interrupted_run_resumes_to_the_identical_result(trained: EdgePopupResult, tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    lines: list[str] = []

    def stop_in_third_epoch(line: str) -> None:
        lines.append(line)
        if sum("epoch" in seen for seen in lines) == 3:
            raise Stop

    with pytest.raises(Stop):
        run_edge_popup(config(), runs_dir=tmp_path, session=Session(log=stop_in_third_epoch))
    run_dir = tmp_path / Path(trained.run_dir).name
    assert (run_dir / "checkpoint.pt").exists() and not (run_dir / "result.json").exists()
    messages: list[str] = []
    resumed = run_edge_popup(config(), runs_dir=tmp_path, session=Session(log=messages.append))
    assert any(m.startswith("resuming") and "epoch 2" in m for m in messages)
    skip = ("wall_seconds", "run_dir")
    assert {k: v for k, v in resumed.to_json().items() if k not in skip} == \
        {k: v for k, v in trained.to_json().items() if k not in skip}
    reference = state(Path(trained.run_dir) / "popup_final.pt")
    assert all(torch.equal(v, reference[k]) for k, v in state(run_dir / "popup_final.pt").items())
    again: list[str] = []
    assert run_edge_popup(config(), runs_dir=tmp_path, session=Session(log=again.append)) == resumed
    assert again == [f"already complete: {run_dir}"]



def test_cli_runs_and_prints_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("edge-popup", *SYNTHETIC, "--model", "conv2", "--width", "0.1", "--density", "0.3", "--epochs", "1",
                 "--scale-by-density", "--runs-dir", str(tmp_path), "--json", "--device", "cpu")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["kind"] == "edge-popup" and parsed["density"] == pytest.approx(0.3, abs=0.01)
    assert parsed["scale_by_density"] is True and "fc1.weight" in result.err and "test accuracy" in result.err


def test_every_option_states_its_default(cli) -> None:  # type: ignore[no-untyped-def]
    commands = next(a for a in main_module.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for action in commands.choices["edge-popup"]._actions:
        flag = isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction, argparse._HelpAction))
        assert action.help and (flag or not action.option_strings or "default" in action.help), action.option_strings


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--density", "0"], "--density must be in (0, 1]"),
        (["--density", "1.5"], "--density must be in (0, 1]"),
        (["--density", "half"], "invalid float value"),
        (["--weight-init", "xavier"], "invalid choice: 'xavier'"),
        (["--init", "kaiming-normal"], "leave --init at default"),
        (["--prunable", "conv,linear,biases"], "weights only"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(cli, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("edge-popup", *SYNTHETIC, *args, "--runs-dir", str(tmp_path))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.err
    assert not list(tmp_path.iterdir())
