"""``ticketlab effective``: direct against effective sparsity of a saved mask or run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ticketlab.config import from_dict
from ticketlab.data.config import DataConfig, parse_shape
from ticketlab.data.custom import file_source
from ticketlab.data.load import read_raw, resolve_source
from ticketlab.errors import ConfigError
from ticketlab.masks import effective_report, load_mask
from ticketlab.models import ModelConfig, build_from_config
from ticketlab.report.plots import plot_layer_density
from ticketlab.runs.store import read_json

DESCRIPTION = """\
Report direct and effective sparsity, per layer and in total, of a mask.

PATH is a run directory (its config names the model and data set) or a mask.npz file,
which then needs --model and either --dataset or --shape and --classes. A weight is
effective when it lies on some path from an input to an output; the network is
disconnected when no such path is left.
"""


def register(commands: Any) -> None:
    """Add the ``effective`` subcommand."""
    parser = commands.add_parser("effective", help="direct and effective sparsity of a mask or run", description=DESCRIPTION)
    parser.add_argument("path", help="a run directory or a mask.npz file")
    parser.add_argument("--model", help="architecture, for a bare mask file (default: from the run's config)")
    parser.add_argument("--dataset", help="data set giving the input shape, for a bare mask file (default: from the run's config)")
    parser.add_argument("--shape", metavar="CxHxW", help="input shape instead of --dataset (default: none)")
    parser.add_argument("--classes", type=int, help="class count with --shape (default: none)")
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier, for a bare mask file (default: 1.0)")
    parser.add_argument("--plot", metavar="PNG", help="also draw per-layer direct and effective density (default: none)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=handle)


def architecture(args: argparse.Namespace) -> tuple[ModelConfig, tuple[int, int, int], int, Path]:
    """(model config, input shape, class count, mask file) from a run directory or the options."""
    path = Path(args.path)
    if path.is_dir():
        record = read_json(path / "config.json")
        config = record.get("config", {}) if isinstance(record, dict) else {}
        if "model" not in config or "data" not in config:
            raise ConfigError(f"{path}/config.json does not name a model and a data set")
        model = from_dict(ModelConfig, config["model"])
        data = from_dict(DataConfig, config["data"])
        shape, classes = data_shape(data)
        return model, shape, classes, path / "mask.npz"
    if not args.model:
        raise ConfigError("a bare mask file needs --model (and --dataset, or --shape and --classes)")
    if args.shape:
        if args.classes is None:
            raise ConfigError("--shape needs --classes")
        return ModelConfig(model=args.model, width=args.width), parse_shape(args.shape), args.classes, path
    if not args.dataset:
        raise ConfigError("a bare mask file needs --dataset, or --shape and --classes")
    shape, classes = data_shape(DataConfig(dataset=args.dataset))
    return ModelConfig(model=args.model, width=args.width), shape, classes, path


def data_shape(data: DataConfig) -> tuple[tuple[int, int, int], int]:
    """Input shape and class count of a data set: registered ones know them, your own
    (``npz:``, ``folder:``) are read (a folder through its decode cache) to learn them."""
    own = file_source(data.dataset, data)
    if own is None:
        source = resolve_source(data)
        return source.image_shape, source.num_classes
    raw, _ = read_raw(own)
    fitted = own.fitted(raw)
    return fitted.image_shape, fitted.num_classes


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab effective``."""
    config, shape, classes, mask_path = architecture(args)
    name = config.model
    mask = load_mask(mask_path)
    model = build_from_config(config, shape, classes, seed=0)
    report = effective_report(model, mask, shape)
    if args.plot:
        row = {"quota": "-", "method": name, "layers": report.as_dict()["layers"]}
        plot_layer_density([row], Path(args.plot), title=str(mask_path))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.table())
    return 0
