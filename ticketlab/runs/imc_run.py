"""``ticketlab imc``: the shared spectrum unit (steps 1-5) and the IMC run (step 6).

``RUNS_DIR/imc-spectrum-<hash>/``: config.json, model_warmup.pt (W*), scores.pt (per block
the fastness and Hutchinson diagonal of every weight), spectrum.png and result.json
(per block the extreme eigenvalues, residuals, Lip(F), the gap or its absence).

``RUNS_DIR/imc-<hash>/``: config.json, imc.json (counts per block and where they came
from), mask.npz, metrics.jsonl, model_init.pt (the masked starting weights),
model_final.pt and result.json. A restarted run reuses the spectrum unit and the mask,
then resumes training from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.config import option
from ticketlab.data import DataBundle
from ticketlab.errors import CheckpointError
from ticketlab.imc.analysis import analyse, cpu_copy
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.imc.select import imc_mask
from ticketlab.imc.spectrum_plot import plot_spectrum
from ticketlab.masks import effective_report_or_none, load_mask, prunable_parameters, save_mask
from ticketlab.pruning import score_batches
from ticketlab.runs.base import ModelRunConfig, TrainedRunConfig
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind
from ticketlab.runs.results import EffectiveFields, RunResult, TrainingResult, effective_dict
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.tables import accuracy_line, epoch_table
from ticketlab.seeding import derive_seed, generator
from ticketlab.text import format_table, percent
from ticketlab.training import TrainConfig, Trainer


@dataclass(frozen=True)
class SpectrumRunConfig(ModelRunConfig):
    """Steps 1-5 of IMC (W*, spectrum, Lip(F), gap) for one model, data set and seed.

    Its own directory, so IMC runs that differ only in step 6 (side kept, map, fallback
    sparsity, training) share one spectrum: the expensive part is computed once.
    """

    kind = "imc-spectrum"

    spectrum: SpectrumConfig = dataclasses.field(default_factory=SpectrumConfig)
    batch_size: int = option(128, "examples per warmup SGD iteration", metavar="B")
    seed: int = option(0, "seed of the initialisation, the warmup batches, Lanczos and the probes", metavar="N")


@dataclass(frozen=True)
class IMCRunConfig(TrainedRunConfig):
    """Inertial-manifold compression (seed 002): spectrum at W*, gap, prune, train."""

    kind = "imc"

    spectrum: SpectrumConfig = dataclasses.field(default_factory=SpectrumConfig)
    select: SelectConfig = dataclasses.field(default_factory=SelectConfig)
    seed: int = option(0, "seed of the initialisation, the batch order, the spectrum and mask ties", metavar="N")

    def spectrum_run(self) -> SpectrumRunConfig:
        """The spectrum unit this run reads (warmup batches as large as training's)."""
        return SpectrumRunConfig(data=self.data, model=self.model, prunable=self.prunable, spectrum=self.spectrum,
                                 batch_size=self.train.batch_size, seed=self.seed)


@dataclass
class SpectrumResult(RunResult):
    """The spectrum unit's result.json: per block the extreme eigenvalues, Lip(F), the gap."""

    scope: str = ""
    hessian_examples: int = 0
    warmup: dict[str, Any] = dataclasses.field(default_factory=dict)
    blocks: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclass
class IMCResult(EffectiveFields, TrainingResult):
    """An IMC ticket, trained, with the spectrum facts that chose it."""

    spectrum_dir: str = ""
    scope: str = ""
    keep: str = ""
    map: str = ""
    budget: str = ""
    d: int = 0
    k: int = 0
    d_minus_k: int = 0
    sparsity_source: str = ""
    condition_held: bool = False
    blocks_with_gap: int = 0
    gap: Any = None  # one block's gap record, or a list of them per block
    lipschitz: Any = None  # likewise: a float, or a list per block
    spectrum: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    counts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    warmup_test_accuracy: float | None = None


def warmup(model: nn.Module, data: DataBundle, config: SpectrumRunConfig, session: Session) -> dict[str, Any]:
    """Step 1: plain SGD for ``warmup_steps`` iterations, in place; the last metrics row."""
    spec = config.spectrum
    if spec.warmup_steps == 0:
        return {}
    train = TrainConfig(duration=f"{spec.warmup_steps}it", batch_size=config.batch_size, optimizer="sgd",
                        lr=spec.warmup_lr, momentum=0.0, schedule="constant")
    trainer = Trainer(model, data, train, seed=derive_seed(config.seed, "warmup"), augment=config.data.augment,
                      crop_padding=config.data.crop_padding, eval_batch_size=session.eval_batch_size)
    history = trainer.run()
    return history[-1]


def compute_spectrum(job: Job[SpectrumRunConfig]) -> SpectrumResult:
    """Steps 1-5: W* (saved), the spectrum, Lip(F) and the gap per block."""
    config, run, session, data = job.config, job.run, job.session, job.data
    model = config.build(data.info).to(session.device)
    names = list(prunable_parameters(model, config.prunable))
    batches = score_batches(data, config.spectrum.hessian_per_class, 500, derive_seed(config.seed, "hessian"))
    run.prepare()
    found = run.load_checkpoint("model_warmup.pt")
    if found is None:
        row = warmup(model, data, config, session)
        run.save_checkpoint({"model": model.state_dict(), "metrics": row}, "model_warmup.pt")
    else:
        model.load_state_dict(found["model"])
        row = found["metrics"]
    if row:
        session.log(f"W* after {config.spectrum.warmup_steps} SGD iterations: train loss {row['train_loss']:.4f}, "
                    f"test acc {100 * row['test_accuracy']:.2f}%")
    blocks = analyse(model, names, batches, config.spectrum, seed=config.seed, log=session.log)
    run.save_checkpoint({b.name: {"fastness": cpu_copy(b.fastness), "diagonal": cpu_copy(b.diagonal)}
                         for b in blocks}, "scores.pt")
    summaries = [b.summary() for b in blocks]
    plot_spectrum(summaries, run.file("spectrum.png"))
    return job.finish(job.record(
        SpectrumResult, scope=config.spectrum.scope, hessian_examples=sum(int(y.shape[0]) for _, y in batches),
        warmup=row, blocks=summaries, wall_seconds=time.monotonic() - job.started,
    ))


def imc(job: Job[IMCRunConfig]) -> IMCResult:
    """IMC end to end: the spectrum unit (shared), the mask from the gap, training."""
    config, run, session = job.config, job.run, job.session
    data = job.data  # loaded once, for the spectrum unit and the training
    spectrum = SPECTRUM.run(config.spectrum_run(), runs_dir=run.path.parent, session=session, data=data)
    spectrum_dir = RunDirectory(run.path.parent, config.spectrum_run())
    model = config.build(data.info)
    shape = data.info.image_shape
    run.prepare()
    if run.file("mask.npz").exists():
        mask = load_mask(run.file("mask.npz"))
        counts = run.read_json_file("imc.json")
    else:
        tensors = spectrum_dir.load_checkpoint("scores.pt")
        if tensors is None:
            raise CheckpointError(f"{spectrum_dir.file('scores.pt')} is missing; delete {spectrum_dir.path} to redo it")
        shapes = {name: p.shape for name, p in prunable_parameters(model, config.prunable).items()}
        mask, counts = imc_mask(spectrum.blocks, tensors, shapes, config.select, generator(config.seed, "imc-mask"))
        run.write_json_file("imc.json", counts)
        save_mask(run.file("mask.npz"), mask)  # written last: its presence means "pruned"
    if config.select.start == "warmup":
        warm = spectrum_dir.load_checkpoint("model_warmup.pt")
        if warm is None:
            raise CheckpointError(f"{spectrum_dir.file('model_warmup.pt')} is missing; delete {spectrum_dir.path}")
        model.load_state_dict(warm["model"])
    model = model.to(session.device)
    d = sum(int(c["d"]) for c in counts)
    kept = sum(int(c["kept"]) for c in counts)
    sources = sorted({c["source"] for c in counts})
    session.log(f"IMC keeps {kept} of {d} prunable weights (sparsity {1 - kept / d:.6f}; from {', '.join(sources)})")
    report = effective_report_or_none(model, mask, shape)
    _, fields = job.train(model, mask)
    blocks = spectrum.blocks
    held = [b["condition_held"] for b in blocks]
    effective = effective_dict(report, mask)
    return job.finish(job.record(
        IMCResult, **{**fields, "layers": effective["layers"]},
        spectrum_dir=spectrum.run_dir,
        scope=config.spectrum.scope,
        keep=config.select.keep,
        map=config.select.map,
        budget=config.select.budget,
        d=d,
        k=d - kept,
        d_minus_k=kept,
        sparsity_source=sources[0] if len(sources) == 1 else "mixed",
        condition_held=all(held),
        blocks_with_gap=sum(held),
        gap=[b["gap"] for b in blocks] if len(held) > 1 else blocks[0]["gap"],
        lipschitz=[b["lipschitz"]["value"] for b in blocks] if len(held) > 1 else blocks[0]["lipschitz"]["value"],
        spectrum=[_spectrum_summary(b) for b in blocks],
        counts=counts,
        warmup_test_accuracy=(spectrum.warmup or {}).get("test_accuracy"),
        effective_sparsity=effective["effective_sparsity"],
        disconnected=effective["disconnected"],
    ))


def _spectrum_summary(block: dict[str, Any]) -> dict[str, Any]:
    spec = block["spectrum"]
    top, bottom = spec["top_eigenvalues"], spec["bottom_eigenvalues"]
    return {
        "block": block["block"],
        "d": block["d"],
        "largest": (top or bottom)[-1],
        "smallest": bottom[0],
        "top_eigenvalues": top,
        "bottom_eigenvalues": bottom,
        "lanczos_steps": spec["lanczos_steps"],
        "converged": spec["converged"],
        "trace_estimate": block["trace_estimate"],
        "lipschitz": block["lipschitz"]["value"],
        "gap": block["gap"],
    }


def summary(result: IMCResult) -> str:
    """Epoch table, the spectrum per block, and the ticket."""
    blocks = format_table(
        ["block", "d", "smallest", "largest", "Lanczos steps", "Lip(F)", "gap after N", "gap width", "d - k", "source"],
        [
            [s["block"], s["d"], f"{s['smallest']:.4g}", f"{s['largest']:.4g}", s["lanczos_steps"],
             f"{s['lipschitz']:.4g}", s["gap"]["index"] if s["gap"] else "none",
             f"{s['gap']['width']:.4g}" if s["gap"] else "-", c["kept"], c["source"]]
            for s, c in zip(result.spectrum, result.counts)
        ],
    )
    missing = len(result.counts) - result.blocks_with_gap
    if result.condition_held:
        verdict = "the gap condition held"
    else:
        verdict = f"no gap met the condition in {missing} block(s)"
    verdict += ("; --budget fixed keeps 1 - --sparsity regardless" if result.budget == "fixed"
                else "" if result.condition_held else ": fell back to --sparsity there")
    closing = (
        f"run {result.run_dir}\nspectrum {result.spectrum_dir} (spectrum.png)\n"
        f"IMC ({result.scope} spectrum, keep {result.keep}, map {result.map}): {verdict}\n"
        f"kept d - k = {result.d_minus_k:,} of d = {result.d:,} (sparsity {percent(result.sparsity, 3)}, "
        f"effective {percent(result.effective_sparsity, 3)})\n{accuracy_line(result)}"
    )
    return "\n\n".join([epoch_table(result.run_dir), blocks, closing])


DESCRIPTION = """\
Compress a network in one shot with IMC (Zhang et al., NeurIPS 2021, seed 002).

  1. W*: --warmup-steps plain SGD iterations from the initialisation (seed: 10).
  2-3. The Hessian of the training loss at W* (on --hessian-per-class examples per class)
     through Hessian-vector products only: Lanczos for the --eigenpairs largest and
     --smallest smallest eigenpairs, Hutchinson for the diagonal; over all prunable weights
     (--spectrum global) or per layer (--spectrum layerwise).
  4. Lip(F) of the nonlinear remainder F on the --epsilon ball in the --p norm around W*.
  5. The smallest N with a gap lambda_{N+1} - lambda_N > 2 Lip(F) among the resolved
     eigenvalues; --keep slow keeps d - k = N weights, --keep fast keeps d - N; the weights
     most in the kept eigen-subspace (--map) are kept. No such gap: it says so and keeps
     1 - --sparsity of the weights instead.
  6. Train the kept weights (from W*, or the initialisation with --start init).

Steps 2-5 are not in the seed: they are our reading of inertial-manifold theory, and every
choice is an option. The spectrum is its own directory, RUNS_DIR/imc-spectrum-<hash>
(W*, scores, spectrum.png), shared by every IMC run that differs only in step 6; the run
is RUNS_DIR/imc-<hash> with imc.json, mask.npz, metrics and result.json (spectrum summary,
gap, Lip(F), condition_held, d, k, d_minus_k, accuracies).

example: ticketlab imc --model lenet300 --dataset fashion-mnist --epochs 5 --sparsity 0.9
"""

# The spectrum unit is a kind of its own (its own directory, lock and skip), run by IMC
# runs rather than by a command of its own.
SPECTRUM = RunKind(SpectrumRunConfig, compute_spectrum, SpectrumResult, lambda result: result.run_dir,
                   help="steps 1-5 of IMC: W*, the Hessian spectrum, Lip(F) and the gap",
                   description="Steps 1-5 of IMC, shared by the IMC runs that differ only in step 6.",
                   sweepable=False, trains=False)

IMC = RunKind(IMCRunConfig, imc, IMCResult, summary, help="inertial-manifold compression from the Hessian spectrum",
              description=DESCRIPTION)


def run_spectrum(config: SpectrumRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None,
                 data: DataBundle | None = None) -> SpectrumResult:
    """Steps 1-5 (or skip them when done); ``data``: the data set of ``config.data`` if loaded already."""
    return SPECTRUM.run(config, runs_dir=runs_dir, session=session, data=data)


def run_imc(config: IMCRunConfig, *, runs_dir: str | Path = "runs", session: Session | None = None) -> IMCResult:
    """IMC end to end (or resume, or skip): spectrum unit, mask from the gap, training."""
    return IMC.run(config, runs_dir=runs_dir, session=session)
