"""``ticketlab edge-popup``: train scores over a frozen random network.

Layout of ``RUNS_DIR/edge-popup-<hash>/``::

    config.json  metrics.jsonl  popup_init.pt  popup_final.pt  model_final.pt  mask.npz  result.json

``popup_*.pt`` hold the edge-popup state dict (frozen weights and ``<layer>.scores``);
``model_final.pt`` the plain model's state dict with the frozen random weights (unmasked)
and ``mask.npz`` the final top-k masks, so the pair loads like any other run's unit
(``ticketlab robustness`` and friends see exactly the subnetwork that was trained).
Killed runs resume from ``checkpoint.pt``; finished ones are skipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ticketlab.config import option
from ticketlab.data import DataBundle
from ticketlab.errors import ConfigError
from ticketlab.masks import effective_report_or_none, save_mask
from ticketlab.runs.base import TrainedRunConfig
from ticketlab.runs.execute import Session
from ticketlab.runs.kind import Job, RunKind
from ticketlab.runs.results import EffectiveFields, TrainingResult, effective_dict, training_fields
from ticketlab.runs.tables import effective_summary
from ticketlab.seeding import generator
from ticketlab.strong.edge_popup import (
    EdgePopupConfig,
    plain_state_dict,
    popup_mask,
    subnet_layers,
    to_edge_popup,
)
from ticketlab.text import percent


@dataclass(frozen=True)
class EdgePopupRunConfig(TrainedRunConfig):
    """Find a subnetwork of a frozen random network by training one score per weight."""

    kind = "edge-popup"

    popup: EdgePopupConfig = dataclasses.field(default_factory=EdgePopupConfig)
    seed: int = option(0, "seed of the frozen weights, the scores and the batch order", metavar="N")

    def __post_init__(self) -> None:
        # --weight-init draws every conv/linear weight; a second init option would only
        # rename the run directory without changing the weights.
        if self.model.init != "default":
            raise ConfigError("edge-popup draws its frozen weights with --weight-init; leave --init at default")
        if "biases" in self.prunable.tokens:
            raise ConfigError("edge-popup selects weights only: drop 'biases' from --prunable")


@dataclass
class EdgePopupResult(EffectiveFields, TrainingResult):
    """The top-k subnetwork edge-popup found, and how the frozen weights were drawn."""

    density: float = 1.0
    target_density: float = 1.0
    weight_init: str = ""
    scale_by_density: bool = False
    trainable_parameters: int = 0


def build_popup(config: EdgePopupRunConfig, data: DataBundle) -> nn.Module:
    """The edge-popup network of ``config`` at initialisation, on the CPU."""
    return to_edge_popup(config.build(data.info), config.prunable, config.popup,
                         weight_generator=generator(config.seed, "popup-weights"),
                         score_generator=generator(config.seed, "popup-scores"))


def train_popup(job: Job[EdgePopupRunConfig]) -> EdgePopupResult:
    """Train the scores (or resume); save the top-k masks and the plain model; the record."""
    config, run = job.config, job.run
    data = job.data
    run.prepare()
    model = build_popup(config, data).to(job.session.device)
    if not run.file("popup_init.pt").exists():
        run.save_checkpoint({"model": model.state_dict()}, "popup_init.pt")
    # No fixed mask: the top-k inside the subnet layers is the (moving) mask.
    trainer, trained = job.train(model, None, save_init=False, save_final=False)
    mask = popup_mask(model)
    # Counted against the final top-k masks, not the (dense) prunable weights.
    fields = {**training_fields(trainer, mask, model, job.session.device), "wall_seconds": trained["wall_seconds"]}
    save_mask(run.file("mask.npz"), mask)
    run.save_checkpoint({"model": model.state_dict()}, "popup_final.pt")
    run.save_checkpoint({"model": plain_state_dict(model)}, "model_final.pt")
    plain = config.build(data.info)
    report = effective_dict(effective_report_or_none(plain, mask, data.info.image_shape), mask)
    scores = sum(layer.scores.numel() for layer in subnet_layers(model).values())
    # The network's own parameters, not its scores; layers with effective_kept.
    fields.update(parameters=fields["parameters"] - scores, layers=report["layers"])
    return job.finish(job.record(
        EdgePopupResult, **fields,
        density=fields["kept"] / fields["total"],
        target_density=config.popup.density,
        weight_init=config.popup.weight_init,
        scale_by_density=config.popup.scale_by_density,
        trainable_parameters=scores,
        effective_sparsity=report["effective_sparsity"],
        effective_kept=report["effective_kept"],
        disconnected=report["disconnected"],
    ))


def _density(sparsity: float | None) -> float | None:
    return None if sparsity is None else 1.0 - sparsity


def summary(result: EdgePopupResult) -> str:
    """Epoch table, per-layer kept and effective counts, and the totals."""
    scaled = " scaled by density" if result.scale_by_density else ""
    return effective_summary(result, f"edge-popup, {result.weight_init} weights{scaled}: density "
                             f"{percent(result.density, 3)}, effective {percent(_density(result.effective_sparsity), 3)}")


DESCRIPTION = """\
edge-popup (Ramanujan et al., 2020): the weights stay frozen at random values and never
train; every weight gets a trainable score, and the forward pass uses, in each prunable
layer, the --density fraction of weights with the largest |score|. The gradient passes
straight through the top-k to the scores. Only scores train: biases, BatchNorm's affine
parameters (the paper's non-affine BN) and layers left out by --prunable stay frozen.

--density is the fraction KEPT (0.5 keeps half of every layer). --weight-init
signed-constant draws +-sqrt(2/fan_in) with random signs, kaiming-normal N(0, 2/fan_in);
--scale-by-density uses fan_in * density instead (the paper's scaled variant). --init
does not apply: the weights come from --weight-init.

The paper trains with SGD, lr 0.1, momentum 0.9, weight decay 1e-4, cosine schedule,
100 epochs (Conv-2/4/6/8 on CIFAR-10): --lr 0.1 --momentum 0.9 --weight-decay 1e-4
--schedule cosine --epochs 100. The defaults here are the shared training defaults.

The run is written to RUNS_DIR/edge-popup-<hash>: mask.npz (the final top-k masks),
model_final.pt (the frozen random weights, unmasked, loadable into the plain model),
popup_init.pt/popup_final.pt (weights and scores), metrics.jsonl and result.json,
with density and effective_sparsity. Run the same command again to resume.

example: ticketlab edge-popup --model conv4 --dataset cifar10 --density 0.5 --epochs 100 \\
    --weight-decay 1e-4 --scale-by-density
"""

EDGE_POPUP = RunKind(EdgePopupRunConfig, train_popup, EdgePopupResult, summary,
                     help="strong tickets: train scores over frozen random weights", description=DESCRIPTION)


def run_edge_popup(config: EdgePopupRunConfig, *, runs_dir: str | Path = "runs",
                   session: Session | None = None) -> EdgePopupResult:
    """Train (or resume, or skip) the edge-popup run of ``config``; its record."""
    return EDGE_POPUP.run(config, runs_dir=runs_dir, session=session)
