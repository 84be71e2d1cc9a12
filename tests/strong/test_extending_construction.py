"""A new strong construction is one builder function plus one registry line (issue 13).

The throwaway construction below is cunha with twice the random copies: it delegates to
the registered cunha builder with 2n. Registered for one with-block, it runs through the
command line like any built-in one, and its reported errors are checked against the
ticket rebuilt by hand from the saved source network and mask.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ticketlab.cli.main import main
from ticketlab.data import DataConfig
from ticketlab.models import ModelConfig
from ticketlab.runs import TrainRunConfig, run_train
from ticketlab.strong.assemble import Assembly
from ticketlab.strong.construct import CONSTRUCTIONS, Options
from ticketlab.strong.target import Op
from ticketlab.training import TrainConfig

NAME = "cunha-2n"


def doubled_cunha(ops: list[Op], example: torch.Tensor, options: Options) -> Assembly:
    """cunha with 2n random copies per input channel and part."""
    return CONSTRUCTIONS.get("cunha")(ops, example, dataclasses.replace(options, n=2 * options.n))


@pytest.fixture(scope="module")
def target_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lenet300 at width 0.05 on 1x6x6 inputs: fc1 36 -> 15, fc2 15 -> 5, fc3 5 -> 10."""
    config = TrainRunConfig(
        data=DataConfig(dataset="synthetic", synthetic_shape="1x6x6", synthetic_train=300, synthetic_test=200),
        model=ModelConfig(model="lenet300", width=0.05),
        train=TrainConfig(duration="2ep", batch_size=50),
    )
    return Path(run_train(config, runs_dir=tmp_path_factory.mktemp("runs")).run_dir)


def strong(target_dir: Path, runs_dir: Path, n: int) -> list[str]:
    return ["strong", "--target", str(target_dir), "--construction", NAME, "--n", str(n), "--runs-dir", str(runs_dir),
            "--json", "--quiet", "--error-examples", "50"]


def hand_errors(ticket: dict[str, torch.Tensor], target: dict[str, torch.Tensor], rescaling: dict[str, dict[str, float]]
                ) -> dict[str, float]:
    """Per target tensor, max |w - w_hat| / max |w|, with w_hat read off the ticket by hand
    and divided by the factor the target layer was rescaled by (result.json's rescaling).

    Source module 1, 3, 5 replaces fc1, fc2, fc3 by ``combine @ act(expand @ x + bias)``
    whose copies each read one input: ``expand`` (rows, C) keeps one weight per row, the
    constant rows keep only their bias. Probing the block with x = e_i (minus x = 0)
    gives combine @ clamp(expand[:, i], min=0): the relu(x) part's estimate of w[:, i];
    x = -e_i gives the relu(-x) part's estimate, combine @ clamp(expand[:, i], max=0);
    x = 0 gives the bias estimate combine @ relu(bias). fc1 reads the signed input (both
    parts); fc2 and fc3 read ReLU outputs (the relu(x) part only).
    """
    errors = {}
    for index, layer in zip((1, 3, 5), ("fc1", "fc2", "fc3")):
        expand, bias, combine = (ticket[f"{index}.{key}"] for key in ("0.weight", "0.bias", "2.weight"))
        weight, target_bias = target[f"{layer}.weight"], target[f"{layer}.bias"]
        parts = [combine @ expand.clamp(min=0)] + ([combine @ expand.clamp(max=0)] if layer == "fc1" else [])
        parts = [p / rescaling["weight"][layer] for p in parts]
        errors[f"{layer}.weight"] = max(float((p - weight).abs().max()) for p in parts) / float(weight.abs().max())
        bias_hat = combine @ bias.clamp(min=0) / rescaling["bias"][layer]
        errors[f"{layer}.bias"] = float((bias_hat - target_bias).abs().max()) / float(target_bias.abs().max())
    return errors


def test_a_registered_construction_runs_through_the_command_line(
    target_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 8
    with CONSTRUCTIONS.registered(NAME, doubled_cunha, "cunha with 2n copies"):
        code = main(strong(target_dir, tmp_path, n))
    out = capsys.readouterr().out
    assert code == 0
    printed = json.loads(out)
    run_dir = Path(printed["run_dir"])
    result = json.loads((run_dir / "result.json").read_text())
    assert result["construction"] == NAME and result["n"] == n

    source = torch.load(run_dir / "source.pt", weights_only=True)["state"]["model"]
    with np.load(run_dir / "mask.npz") as archive:
        mask = {key: torch.from_numpy(archive[key]) for key in archive.files}
    ticket = {key: source[key] * mask[key] for key in mask}
    target = torch.load(target_dir / "model_final.pt", weights_only=True)["state"]["model"]
    target = {key: value.double() for key, value in target.items()}

    # Twice the copies: fc1 reads 36 signed inputs, 2 * (2n) copies each, plus 2n
    # constants; fc2 reads 15 nonnegative inputs, 2n copies each, plus 2n constants.
    assert source["1.0.weight"].shape == (36 * 4 * n + 2 * n, 36)
    assert source["3.0.weight"].shape == (15 * 2 * n + 2 * n, 15)

    factors = result["rescaling"]
    assert factors["weight"]["fc1"] != 1.0  # the target was rescaled, so dividing back matters
    expected = hand_errors(ticket, target, factors)
    reported = {row["tensor"]: row["max_rel_error"] for row in result["weight_errors"]}
    assert list(reported) == list(expected)  # fc1.weight, fc1.bias, fc2.weight, ...
    for tensor, error in expected.items():
        # Summed in another order than the construction sums: equal up to rounding.
        assert reported[tensor] == pytest.approx(error, rel=1e-9, abs=1e-15), tensor
    assert result["max_rel_weight_error"] == pytest.approx(max(expected.values()), rel=1e-9)
    assert sum(int(m.sum()) for m in mask.values()) == result["ticket_nonzeros"]


def test_help_lists_the_construction_only_while_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with CONSTRUCTIONS.registered(NAME, doubled_cunha, "cunha with 2n copies"):
        with pytest.raises(SystemExit) as exit_info:
            main(["strong", "--help"])
        assert exit_info.value.code == 0
        assert NAME in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["strong", "--help"])
    assert NAME not in capsys.readouterr().out
    assert NAME not in CONSTRUCTIONS


def test_an_unregistered_construction_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses it before reading the target
        main(strong(tmp_path, tmp_path, 3))
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
