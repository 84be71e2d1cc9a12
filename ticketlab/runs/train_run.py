"""``ticketlab train`` as a function: train one model, optionally masked, in a run directory.

The run resumes from its last checkpoint when started again with the same config, and a
finished run (``result.json`` present) is returned without training again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ticketlab.data import DATASETS
from ticketlab.masks import full_mask, save_mask, uniform_random_mask
from ticketlab.models import INITS, MODELS, build_from_config
from ticketlab.runs.config import TrainRunConfig
from ticketlab.runs.execute import Session, train_and_save, training_result
from ticketlab.runs.store import RunDirectory
from ticketlab.seeding import derive_seed, generator


def check_names(config: Any) -> None:
    """Fail early, before any file is written, on unknown model, init or data set names."""
    MODELS.entry(config.model.model)
    INITS.entry(config.model.init)
    DATASETS.entry(config.data.dataset)


def run_train(
    config: TrainRunConfig,
    *,
    runs_dir: str | Path = "runs",
    session: Session | None = None,
) -> dict[str, Any]:
    """Train (or resume, or skip) the run described by ``config``; return its result dict."""
    started = time.monotonic()
    session = session or Session()
    check_names(config)
    run = RunDirectory(runs_dir, config)
    if run.is_complete():
        return session.skip(run)
    data = session.load_data(config.data)
    run.prepare()
    model = build_from_config(
        config.model, data.info.image_shape, data.info.num_classes, seed=derive_seed(config.seed, "init")
    ).to(session.device)
    template = full_mask(model, config.prunable)
    mask = None
    if config.sparsity is not None:
        mask = uniform_random_mask(template, config.sparsity, generator(config.seed, "mask"))
        save_mask(run.file("mask.npz"), mask)
    trainer, wall = train_and_save(run, model, data, config, mask=mask, session=session, started=started)
    result = training_result(run, trainer, mask or template, model, session, wall)
    run.write_result(result)
    run.file("checkpoint.pt").unlink(missing_ok=True)
    return result
