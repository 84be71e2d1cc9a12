"""``ticketlab models``, ``datasets``, ``catalog``, ``download`` and ``mask``: what exists and what a mask holds."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from ticketlab.data import DATASETS, dataset_status, download_dataset
from ticketlab.errors import ConfigError
from ticketlab.masks import count_kept, layer_report, load_mask
from ticketlab.models import MODELS, build_model, count_parameters
from ticketlab.registry import describe_entries
from ticketlab.report import format_table, percent
from ticketlab.report.registry_docs import SOURCES, update_file


def register(commands: Any) -> None:
    """Add the listing subcommands."""
    models = commands.add_parser("models", help="list the architectures", description="List the registered architectures with their parameter counts.")
    models.add_argument("--shape", default="3x32x32", help="input shape CxHxW for the parameter count (default: 3x32x32)")
    models.add_argument("--classes", type=int, default=10, help="class count for the parameter count (default: 10)")
    models.set_defaults(handler=list_models)

    datasets = commands.add_parser("datasets", help="list the data sets and where their files are", description="List the data sets and where their files were found.")
    datasets.add_argument("--data-dir", metavar="DIR", help="also look here first (default: none)")
    datasets.set_defaults(handler=list_datasets)

    catalog = commands.add_parser(
        "catalog", help="every registry's names, or regenerate a README's lists of them",
        description="Print every registry (" + ", ".join(SOURCES) + ") with its names and descriptions, or "
        "rewrite the <!-- registry:NAME --> ... <!-- /registry:NAME --> blocks of a Markdown file from them.",
    )
    catalog.add_argument("--readme", metavar="FILE",
                         help="rewrite the registry blocks of this Markdown file (default: none)")
    catalog.add_argument("--check", action="store_true", help="with --readme: write nothing, exit 1 when a block is stale")
    catalog.set_defaults(handler=catalog_command)

    download = commands.add_parser("download", help="download a data set from its official source", description="Download a data set from its official source, checking its checksum.")
    download.add_argument("dataset", choices=[n for n in DATASETS.names() if n != "synthetic"], help="data set name")
    download.add_argument("--data-dir", metavar="DIR", help="download under this directory (default: $TICKETLAB_DATA, else the user cache)")
    download.set_defaults(handler=download_command)

    mask = commands.add_parser("mask", help="per-layer report of a saved mask or run", description="Per-layer report (layer, shape, kept, total, density) of a mask.npz or a run directory.")
    mask.add_argument("path", help="a mask.npz file or a run directory holding one")
    mask.add_argument("--json", action="store_true", help="print the report as JSON")
    mask.set_defaults(handler=mask_command)


def list_models(args: argparse.Namespace) -> int:
    from ticketlab.data.config import parse_shape

    shape = parse_shape(args.shape)
    if args.classes < 2:
        raise ConfigError(f"--classes must be at least 2, got {args.classes}")
    rows = []
    for entry in MODELS:
        params = count_parameters(build_model(entry.name, shape, args.classes))
        rows.append([entry.name, f"{params:,}", entry.description])
    print(format_table(["model", f"parameters ({args.shape}, {args.classes} classes)", "description"], rows))
    return 0


def list_datasets(args: argparse.Namespace) -> int:
    rows = []
    for entry in DATASETS:
        if not entry.value.needs_files:
            where = "generated (no files)"
        else:
            found = dataset_status(entry.name, data_dir=args.data_dir)
            where = str(found) if found else "not found (see --download)"
        rows.append([entry.name, entry.description, where])
    print(format_table(["dataset", "description", "files"], rows))
    return 0


def catalog_command(args: argparse.Namespace) -> int:
    """Print every registry, or rewrite (or --check) the registry blocks of --readme FILE."""
    if args.readme is None:
        if args.check:
            raise ConfigError("--check needs --readme FILE")
        for name, source in SOURCES.items():
            print(f"{name}:\n{textwrap.indent(describe_entries(source()), '  ')}")
        return 0
    if not Path(args.readme).is_file():
        raise ConfigError(f"--readme {args.readme}: no such file")
    stale = update_file(args.readme, check=args.check)
    if args.check:
        print(f"{args.readme}: registry blocks {'out of date' if stale else 'current'}")
        return 1 if stale else 0
    print(f"{args.readme}: registry blocks {'rewritten' if stale else 'already current'}")
    return 0


def download_command(args: argparse.Namespace) -> int:
    path = download_dataset(args.dataset, data_dir=args.data_dir)
    print(f"{args.dataset}: files in {path}")
    return 0


def mask_command(args: argparse.Namespace) -> int:
    path = Path(args.path)
    mask = load_mask(path / "mask.npz" if path.is_dir() else path)
    rows = layer_report(mask)
    kept, total = count_kept(mask)
    if args.json:
        report = {"layers": [r.as_dict() for r in rows], "kept": kept, "total": total, "sparsity": 1 - kept / total}
        print(json.dumps(report, indent=2))
        return 0
    table = [[r.name, "x".join(map(str, r.shape)), r.kept, r.total, percent(r.density)] for r in rows]
    table.append(["total", "", kept, total, percent(kept / total)])
    print(format_table(["layer", "shape", "kept", "total", "density"], table))
    return 0
