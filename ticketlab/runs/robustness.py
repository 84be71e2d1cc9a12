"""Accuracy under common corruptions of the trained models in a run directory.

A *unit* is a directory holding a ``model_final.pt``: a train or prune run, or one level
or branch of a lottery (``lottery-<hash>/level-<L>/[branch-<name>/]``). Its model and data
set come from the nearest ``config.json`` at or above it. Each unit gets a
``robustness.json``; a unit whose file already matches the seed, the corruptions, the
severities and the model file is skipped, so running again only fills in what is missing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from ticketlab.atomic import atomic_write_json
from ticketlab.data import DataBundle, DataConfig, TensorSplit
from ticketlab.data.corruptions import (
    corrupt_split,
    resolve_corruptions,
    resolve_severities,
)
from ticketlab.data.splits import stratified_split
from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.runs.execute import Session
from ticketlab.runs.store import json_safe, read_json
from ticketlab.runs.units import (
    MODEL_FILE,
    file_sha256,
    load_unit_model,
    model_file,
    unit_config,
)
from ticketlab.seeding import derive_seed
from ticketlab.training.evaluate import evaluate

RESULT_FILE = "robustness.json"

# What a stored robustness.json must match to be reused instead of evaluated again.
_SKIP_KEYS = ("seed", "corruptions", "severities", "model_sha256", "test_subset")


def evaluate_robustness(
    model: nn.Module,
    test: TensorSplit,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    corruptions: Iterable[str] | None = None,
    severities: Iterable[int] | None = None,
    seed: int = 0,
    batch_size: int = 1000,
) -> dict[str, Any]:
    """Clean and corrupted accuracy (fractions in [0, 1]) of ``model`` on ``test``.

    ``test`` is normalised with ``mean``/``std`` (per channel, [0, 1] pixel units).
    ``corruptions`` defaults to every registered one, ``severities`` to 1..5. Returns
    ``clean_accuracy``, ``clean_loss``, ``accuracy[name][str(severity)]``,
    ``mean_accuracy[name]`` (over severities), ``mean_corrupted_accuracy`` (over every
    corruption and severity), and the seed, names, severities and example count used.
    """
    names = resolve_corruptions(corruptions)
    levels = resolve_severities(severities)
    clean_loss, clean_accuracy = evaluate(model, test, batch_size)
    accuracy: dict[str, dict[str, float]] = {}
    for name in names:
        accuracy[name] = {}
        for severity in levels:
            corrupted = corrupt_split(test, mean, std, name, severity, seed)
            accuracy[name][str(severity)] = evaluate(model, corrupted, batch_size)[1]
    mean_accuracy = {name: sum(by_level.values()) / len(by_level) for name, by_level in accuracy.items()}
    return {
        "seed": seed,
        "corruptions": names,
        "severities": levels,
        "test_examples": len(test),
        "clean_accuracy": clean_accuracy,
        "clean_loss": clean_loss,
        "accuracy": accuracy,
        "mean_accuracy": mean_accuracy,
        "mean_corrupted_accuracy": sum(mean_accuracy.values()) / len(mean_accuracy),
    }


def find_units(path: str | Path) -> list[Path]:
    """The directories at or under ``path`` that hold a ``model_final.pt``, in natural order.

    Natural order sorts ``level-2`` before ``level-10``; a level comes before its branches.
    """
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"{root} is not a directory")
    units = [p.parent for p in root.rglob(MODEL_FILE) if p.is_file()]
    if not units:
        raise CheckpointError(f"no {MODEL_FILE} at or under {root}: nothing to evaluate")
    return sorted(units, key=lambda unit: _natural_key(unit.relative_to(root)))


def _natural_key(relative: Path) -> list[tuple[Any, ...]]:
    return [
        tuple((0, int(piece)) if piece.isdigit() else (1, piece) for piece in re.split(r"(\d+)", part))
        for part in relative.parts
    ]


def stored_result(unit: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    """The unit's robustness.json when it matches ``wanted`` on every skip key, else None.

    A file that cannot be parsed is treated as absent: it is derived data and is rewritten.
    """
    path = unit / RESULT_FILE
    if not path.is_file():
        return None
    try:
        found = read_json(path)
    except CheckpointError:
        return None
    if isinstance(found, dict) and all(found.get(k) == wanted[k] for k in _SKIP_KEYS):
        return found
    return None


def stratified_test_subset(data: DataBundle, count: int, seed: int) -> TensorSplit:
    """A class-stratified subset of ``count`` test examples, drawn with ``seed``."""
    labels = data.test.y.cpu()
    if count >= labels.shape[0]:
        return data.test
    rows = stratified_split(labels, data.info.num_classes, val=count, seed=derive_seed(seed, "test-subset")).val
    assert rows is not None
    rows = rows.to(data.test.y.device)
    return TensorSplit(data.test.x[rows], data.test.y[rows], data.test.pad_value)


def run_robustness(
    path: str | Path,
    *,
    seed: int = 0,
    corruptions: Iterable[str] | None = None,
    severities: Iterable[int] | None = None,
    session: Session | None = None,
    test_subset: int | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every unit at or under ``path``; write and return their robustness records.

    Each record is what ``evaluate_robustness`` returns plus ``run_dir``, ``config_path``,
    ``dataset``, ``model``, ``sparsity`` (None without a mask), ``model_sha256`` and
    ``wall_seconds``. Units are evaluated on ``session.device`` with batches of
    ``session.eval_batch_size``. Names and severities are checked before any work.
    ``test_subset`` evaluates on that many test examples, class-stratified and drawn
    with ``seed``, the same examples for every unit (clean accuracy included).
    """
    if test_subset is not None and test_subset < 1:
        raise ConfigError(f"--test-subset must be at least 1, got {test_subset}")
    session = session or Session()
    names = resolve_corruptions(corruptions)
    levels = resolve_severities(severities)
    records = []
    bundles: dict[DataConfig, DataBundle] = {}
    for unit in find_units(path):
        started = time.monotonic()
        model_sha256 = file_sha256(model_file(unit))
        wanted = {"seed": seed, "corruptions": names, "severities": levels, "model_sha256": model_sha256,
                  "test_subset": test_subset}
        found = stored_result(unit, wanted)
        if found is not None:
            session.log(f"robustness: already evaluated: {unit}")
            records.append({**found, "run_dir": str(unit.absolute())})  # where it is now
            continue
        config_path, record, data_config, model_config = unit_config(unit)
        if data_config not in bundles:
            bundles[data_config] = session.load_data(data_config)
        data = bundles[data_config]
        test = data.test if test_subset is None else stratified_test_subset(data, test_subset, seed)
        model, sparsity = load_unit_model(unit, model_config, data, record.get("hash"))
        model.to(session.device)
        result = evaluate_robustness(
            model, test, data.info.mean, data.info.std,
            corruptions=names, severities=levels, seed=seed, batch_size=session.eval_batch_size,
        )
        result.update(
            run_dir=str(unit.absolute()),
            config_path=str(config_path.absolute()),
            dataset=data_config.dataset,
            model=model_config.model,
            sparsity=sparsity,
            model_sha256=model_sha256,
            test_subset=test_subset,
            wall_seconds=time.monotonic() - started,
        )
        result = json_safe(result)
        atomic_write_json(unit / RESULT_FILE, result)
        session.log(
            f"robustness: {unit}: clean {100 * result['clean_accuracy']:.2f}%, "
            f"mean corrupted {100 * result['mean_corrupted_accuracy']:.2f}% ({result['wall_seconds']:.1f}s)"
        )
        records.append(result)
    return records
