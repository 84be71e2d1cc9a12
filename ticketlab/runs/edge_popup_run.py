"""``ticketlab edge-popup`` as a function: train scores over a frozen random network.

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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from ticketlab.config import option
from ticketlab.data import DataBundle
from ticketlab.data.config import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks import effective_report, save_mask
from ticketlab.masks.config import PrunableSpec
from ticketlab.models import build_from_config
from ticketlab.models.config import ModelConfig
from ticketlab.runs.execute import Session, train_in_run, training_result
from ticketlab.runs.store import RunDirectory
from ticketlab.runs.train_run import check_names
from ticketlab.seeding import derive_seed, generator
from ticketlab.strong.edge_popup import (
    EdgePopupConfig,
    plain_state_dict,
    popup_mask,
    subnet_layers,
    to_edge_popup,
)
from ticketlab.training.config import TrainConfig


@dataclass(frozen=True)
class EdgePopupRunConfig:
    """Find a subnetwork of a frozen random network by training one score per weight."""

    kind: ClassVar[str] = "edge-popup"

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    prunable: PrunableSpec = dataclasses.field(default_factory=PrunableSpec)
    popup: EdgePopupConfig = dataclasses.field(default_factory=EdgePopupConfig)
    seed: int = option(0, "seed of the frozen weights, the scores and the batch order", metavar="N")

    def __post_init__(self) -> None:
        # --weight-init draws every conv/linear weight; a second init option would only
        # rename the run directory without changing the weights.
        if self.model.init != "default":
            raise ConfigError("edge-popup draws its frozen weights with --weight-init; leave --init at default")
        if "biases" in self.prunable.tokens:
            raise ConfigError("edge-popup selects weights only: drop 'biases' from --prunable")


def build_popup(config: EdgePopupRunConfig, data: DataBundle) -> nn.Module:
    """The edge-popup network of ``config`` at initialisation, on the CPU."""
    info = data.info
    model = build_from_config(config.model, info.image_shape, info.num_classes, seed=derive_seed(config.seed, "init"))
    return to_edge_popup(model, config.prunable, config.popup, weight_generator=generator(config.seed, "popup-weights"),
                         score_generator=generator(config.seed, "popup-scores"))


def run_edge_popup(
    config: EdgePopupRunConfig,
    *,
    runs_dir: str | Path = "runs",
    session: Session | None = None,
) -> dict[str, Any]:
    """Train (or resume, or skip) the edge-popup run of ``config``; return its result dict."""
    started = time.monotonic()
    session = session or Session()
    check_names(config)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return session.skip(run)
    data = session.load_data(config.data)
    run.prepare()
    model = build_popup(config, data).to(session.device)
    if not run.file("popup_init.pt").exists():
        run.save_checkpoint({"model": model.state_dict()}, "popup_init.pt")
    # No fixed mask: the top-k inside the subnet layers is the (moving) mask.
    trainer, wall = train_in_run(
        run, model, data, config.train, seed=config.seed, mask=None, augment=config.data.augment,
        crop_padding=config.data.crop_padding, session=session, started=started,
    )
    mask = popup_mask(model)
    save_mask(run.file("mask.npz"), mask)
    run.save_checkpoint({"model": model.state_dict()}, "popup_final.pt")
    run.save_checkpoint({"model": plain_state_dict(model)}, "model_final.pt")
    plain = build_from_config(config.model, data.info.image_shape, data.info.num_classes, seed=0)
    report = effective_report(plain, mask, data.info.image_shape).as_dict()
    result = training_result(run, trainer, mask, model, session, wall)
    scores = sum(layer.scores.numel() for layer in subnet_layers(model).values())
    result.update(
        density=result["kept"] / result["total"],
        target_density=config.popup.density,
        weight_init=config.popup.weight_init,
        scale_by_density=config.popup.scale_by_density,
        parameters=result["parameters"] - scores,  # the network's own, not its scores
        trainable_parameters=scores,
        effective_sparsity=report["effective_sparsity"],
        effective_kept=report["effective_kept"],
        disconnected=report["disconnected"],
        layers=report["layers"],
    )
    run.write_result(result)
    run.file("checkpoint.pt").unlink(missing_ok=True)
    return result
