"""``ticketlab export``: a run's ticket as a network that is really smaller (compact), runs sparse
kernels (sparse), or runs anywhere (onnx)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ticketlab.cli.parser import add_data_location_options
from ticketlab.errors import ConfigError
from ticketlab.export.run_export import FILE_NAMES, FORMATS, export_run
from ticketlab.report.table import format_table
from ticketlab.runs.execute import Session

DESCRIPTION = f"""\
Export the ticket of a run as a network that is really smaller or faster.

  compact  every unit and channel the effective mask marks dead is cut out (with its rows,
           columns and BatchNorm entries in the neighbouring layers, on both sides of a
           residual sum); what dead-but-constant units fed the network is folded into the
           next layer's bias. An ordinary dense network with fewer units.
  sparse   the compact network with its Linear and Conv2d layers holding only their kept
           weights (CSR) and running sparse kernels, where that is faster than dense at the
           layer's density (--sparse-layers).
  onnx     the compact network through torch.onnx.export (pip install 'ticketlab[onnx]'),
           run with onnxruntime when it is installed.

RUN_DIR is a train, prune, imc, edge-popup or sparse-train run, or a lottery (--level, by
default its last finished level); --branch picks a branch of either. compact and sparse files
hold a state dict and the plain-data description that rebuilds the network (no pickled code):
load them with ticketlab.export.load_export(path). Default output: the unit's
{FILE_NAMES['compact']}, {FILE_NAMES['sparse']} or {FILE_NAMES['onnx']}, and beside it PATH.json,
the record --json prints.

Every export verifies itself: its outputs on --examples real test inputs must equal the
masked network's within 1e-5 of the largest output, or nothing is written. The record
gives the largest difference, the stored nonzero parameters against the dense model's, the
file sizes of the dense, compact and sparse forms, and per layer the units and inputs kept.

example: ticketlab export runs/lottery-0123456789abcdef --level 6 --format sparse --json
"""


def register(commands: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = commands.add_parser("export", help="a ticket as a compact, sparse or ONNX network",
                                 description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run whose ticket is exported")
    parser.add_argument("--format", choices=FORMATS, default="compact", help="what to write (default: compact)")
    parser.add_argument("--out", metavar="PATH", help="where to write it (default: in the unit's directory, see above)")
    parser.add_argument("--level", type=int, metavar="L", help="lottery runs: the level (default: the last finished)")
    parser.add_argument("--branch", metavar="NAME", help="a branch of the level or run, e.g. rewind (default: none)")
    parser.add_argument("--examples", type=int, default=256, metavar="N",
                        help="test inputs the export is verified on, and sparse layers timed on (default: 256)")
    parser.add_argument("--sparse-layers", default="auto", metavar="POLICY",
                        help="sparse format: auto (each layer sparse where its timed forward beats dense on the "
                        "verification batch), all, none, or a density D in (0, 1]: sparse where the layer's density "
                        "is at most D (default: auto)")
    add_data_location_options(parser)
    parser.add_argument("--json", action="store_true", help="print the record as JSON instead of a table")
    parser.set_defaults(handler=handle)


def parse_policy(text: str) -> str | float:
    """``auto``, ``all``, ``none`` or a density in (0, 1]."""
    if text in ("auto", "all", "none"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"--sparse-layers must be auto, all, none or a density in (0, 1], got '{text}'") from None
    if not 0 < value <= 1:
        raise ConfigError(f"--sparse-layers density must be in (0, 1], got {text}")
    return value


def handle(args: argparse.Namespace) -> int:
    """Run ``ticketlab export``."""
    policy = parse_policy(args.sparse_layers)
    session = Session(data_dir=args.data_dir, download=args.download)
    record = export_run(args.run_dir, args.format, out=args.out, level=args.level, branch=args.branch,
                        examples=args.examples, policy=policy, session=session)
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    print(summary(record))
    return 0


def summary(record: dict[str, Any]) -> str:
    """The per-layer table and a line on sizes and the check."""
    rows = []
    for layer in record["layers"]:
        sparse = layer.get("sparse")
        rows.append([layer["name"], f"{layer['kept_units']}/{layer['units']}", f"{layer['kept_inputs']}/{layer['inputs']}",
                     layer["folded"] or "-", "-" if sparse is None else f"{sparse['form']} ({sparse['density']:.3f})"])
    table = format_table(["layer", "units kept", "inputs kept", "folded", "form (density)"], rows)
    sizes = record["sizes"]
    return (f"{table}\nwrote {record['path']} ({record['bytes']:,} bytes): {record['parameters']:,} nonzero parameters "
            f"of {record['dense_parameters']:,}; file sizes dense {sizes['dense']:,}, compact {sizes['compact']:,}, "
            f"sparse {sizes['sparse']:,} bytes; largest output difference {record['max_abs_diff']:.3g} "
            f"on {record['examples']} test inputs")
