"""``ticketlab imc`` runs on synthetic data: files, counts, sharing, determinism, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ticketlab.data import DataConfig
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.masks import count_kept, load_mask
from ticketlab.models import ModelConfig
from ticketlab.runs.imc_run import IMCRunConfig, run_imc
from ticketlab.training import TrainConfig

DATA = DataConfig(dataset="synthetic", synthetic_shape="1x6x6", synthetic_train=200, synthetic_test=50, val=20)
SPECTRUM = SpectrumConfig(hessian_per_class=4, eigenpairs=8, smallest=4, lanczos_steps=80, hutchinson_samples=4,
                          lip_restarts=1, lip_iterations=3)


def config(**select: object) -> IMCRunConfig:
    spectrum = select.pop("spectrum", SPECTRUM)
    return IMCRunConfig(data=DATA, model=ModelConfig(model="lenet300", width=0.05), spectrum=spectrum,  # type: ignore[arg-type]
                        train=TrainConfig(duration="1ep", batch_size=20), select=SelectConfig(**select), seed=3)  # type: ignore[arg-type]


def metrics(run_dir: str) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def test_run_writes_its_files_and_keeps_d_minus_k_weights(tmp_path: Path) -> None:
    result = run_imc(config(sparsity=0.8), runs_dir=tmp_path)
    top = Path(result.run_dir)
    assert top.name.startswith("imc-")
    assert {"config.json", "imc.json", "mask.npz", "metrics.jsonl", "model_init.pt", "model_final.pt",
            "result.json"} <= {p.name for p in top.iterdir()}
    spectrum = Path(result.spectrum_dir)
    assert {"model_warmup.pt", "scores.pt", "spectrum.png", "result.json"} <= {p.name for p in spectrum.iterdir()}
    kept, total = count_kept(load_mask(top / "mask.npz"))
    assert (kept, total) == (result.d_minus_k, result.d) and result.k == total - kept
    if result.condition_held:
        assert result.sparsity_source == "gap" and kept == result.gap["index"]  # keep slow: d - k = N
    else:
        assert result.sparsity_source == "fallback" and kept == round(0.2 * total)
    for key in ("test_accuracy", "val_accuracy", "lipschitz", "spectrum", "effective_sparsity", "warmup_test_accuracy"):
        assert key in result.to_json()
    # The trained weights still hold the mask.
    final = torch.load(top / "model_final.pt", weights_only=True)["state"]["model"]
    mask = load_mask(top / "mask.npz")
    assert all(torch.all(final[name][~m] == 0) for name, m in mask.items())


def test_runs_that_differ_in_step_6_share_one_spectrum(tmp_path: Path) -> None:
    slow = run_imc(config(keep="slow"), runs_dir=tmp_path)
    stamp = (Path(slow.spectrum_dir) / "result.json").stat().st_mtime_ns
    fast = run_imc(config(keep="fast", map="diagonal"), runs_dir=tmp_path)
    assert fast.spectrum_dir == slow.spectrum_dir and fast.run_dir != slow.run_dir
    assert (Path(slow.spectrum_dir) / "result.json").stat().st_mtime_ns == stamp
    assert slow.d_minus_k + fast.d_minus_k == slow.d if slow.condition_held else True


def test_layerwise_counts_follow_each_blocks_gap_or_the_fallback(tmp_path: Path) -> None:
    spectrum = SpectrumConfig(scope="layerwise", hessian_per_class=4, eigenpairs=8, smallest=4, lanczos_steps=200,
                              hutchinson_samples=2, lip_restarts=1, lip_iterations=2, epsilon=1e-4)
    result = run_imc(config(keep="fast", sparsity=0.5, spectrum=spectrum), runs_dir=tmp_path)
    mask = load_mask(Path(result.run_dir) / "mask.npz")
    assert [c["block"] for c in result.counts] == list(mask)
    for count, gap in zip(result.counts, result.gap):
        expected = count["d"] - gap["index"] if gap else round(0.5 * count["d"])
        assert count["kept"] == expected == int(mask[count["block"]].sum())
        assert count["source"] == ("gap" if gap else "fallback")
    assert result.blocks_with_gap == sum(g is not None for g in result.gap)


def test_same_config_gives_identical_masks_and_metrics(tmp_path: Path) -> None:
    first = run_imc(config(), runs_dir=tmp_path / "a")
    second = run_imc(config(), runs_dir=tmp_path / "b")
    a, b = load_mask(Path(first.run_dir) / "mask.npz"), load_mask(Path(second.run_dir) / "mask.npz")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert metrics(first.run_dir) == metrics(second.run_dir)
    assert first.spectrum == second.spectrum


def test_an_interrupted_run_reuses_its_mask_and_a_finished_one_is_skipped(tmp_path: Path) -> None:
    first = run_imc(config(), runs_dir=tmp_path)
    top = Path(first.run_dir)
    mask_stamp = (top / "mask.npz").stat().st_mtime_ns
    (top / "result.json").unlink()  # as if killed while training
    again = run_imc(config(), runs_dir=tmp_path)
    assert (top / "mask.npz").stat().st_mtime_ns == mask_stamp
    assert {k: v for k, v in again.to_json().items() if k != "wall_seconds"} == \
        {k: v for k, v in first.to_json().items() if k != "wall_seconds"}
    assert run_imc(config(), runs_dir=tmp_path) == again


SYNTHETIC = ["--dataset", "synthetic", "--synthetic-shape", "1x6x6", "--synthetic-train", "200", "--synthetic-test",
             "50", "--width", "0.05", "--device", "cpu", "--hessian-per-class", "4", "--eigenpairs", "6",
             "--lanczos-steps", "40", "--lip-restarts", "1", "--lip-iterations", "2", "--epochs", "1"]


def test_cli_json_and_table(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("imc", *SYNTHETIC, "--runs-dir", str(tmp_path), "--json")
    assert result.code == 0, result.err
    parsed = json.loads(result.out)
    assert parsed["kind"] == "imc" and "Lip(F)" in result.err and "d - k" in result.err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--p", "0.5"], "--p must be at least 1"),
        (["--p", "two"], "--p must be a number"),
        (["--sparsity", "1"], "--sparsity must be in [0, 1)"),
        (["--epsilon", "0"], "--epsilon must be positive"),
        (["--keep", "both"], "invalid choice: 'both'"),
        (["--spectrum", "blockwise"], "invalid choice: 'blockwise'"),
        (["--eigenpairs", "0"], "--eigenpairs must be at least 1"),
        (["--model", "lenet9"], "unknown model 'lenet9'; choose from: lenet300"),
    ],
)
def test_bad_input_is_one_line_with_status_2(cli, tmp_path: Path, args: list[str], fragment: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("imc", *SYNTHETIC, *args, "--runs-dir", str(tmp_path))
    assert result.code == 2
    assert fragment in result.err and len(result.err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*/result.json"))


def test_help_explains_every_imc_option_with_its_default(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("imc", "--help")
    assert result.code == 0
    for flag in ("--warmup-steps", "--epsilon", "--p ", "--keep", "--spectrum", "--sparsity", "--map", "--start",
                 "--eigenpairs", "--lanczos-steps", "--hutchinson-samples"):
        assert flag in result.out
    text = " ".join(result.out.split())  # argparse wraps lines anywhere
    for default in ("(default: 10)", "(default: 0.01)", "(default: slow)", "(default: global)", "(default: 2)"):
        assert default in text


def test_a_lanczos_basis_too_large_for_memory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketlab.errors import ConfigError
    from ticketlab.imc import analysis

    monkeypatch.setattr(analysis, "BASIS_BYTES_LIMIT", 1000)
    with pytest.raises(ConfigError, match="lower --lanczos-steps or use --spectrum layerwise"):
        run_imc(config(), runs_dir=tmp_path)
    assert not list(tmp_path.glob("*/result.json"))
