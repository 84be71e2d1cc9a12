"""One subcommand per registered run kind, its options generated from the kind's config.

Every nested block of the config (data, model, train, prunable, the kind's own) is an
option group; the training block adds ``--epochs``/``--iterations``; a kind's run
options (a lottery's ``--branches``, a strong ticket's ``--target``) and the execution
options follow. The handler builds the config from the same flat values a sweep file
gives (:func:`ticketlab.runs.values.config_from_values`), runs the kind and prints its
summary (with ``--json``, result.json on stdout).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from functools import partial
from typing import Any

from ticketlab.cli.options import add_config_arguments
from ticketlab.cli.parser import add_run_options, print_result, session_from_args
from ticketlab.config import leaf_fields
from ticketlab.report.run_reports import RUN_REPORTS
from ticketlab.runs.catalog import RUN_KINDS
from ticketlab.runs.kind import RunKind
from ticketlab.runs.values import config_from_values
from ticketlab.training.config import TrainConfig


def register(commands: Any) -> None:
    """Add a subcommand for every registered run kind that has a command."""
    for entry in RUN_KINDS:
        register_kind(commands, entry.value)


def register_kind(commands: Any, kind: RunKind[Any, Any]) -> argparse.ArgumentParser:
    """Add ``kind``'s subcommand."""
    parser = commands.add_parser(kind.name, help=kind.help, description=kind.describe())
    add_config_groups(parser, kind.config)
    if kind.options:
        group = parser.add_argument_group("run options (not part of the run's config)")
        for option in kind.options:
            flag = "--" + option.name.replace("_", "-")
            shown = "" if option.required or "default:" in option.help else f" (default: {option.default})"
            group.add_argument(flag, dest=option.name, required=option.required, default=option.default,
                               metavar=option.metavar, help=option.help + shown)
    add_run_options(parser, trains=kind.trains)
    parser.set_defaults(handler=partial(handle, kind))
    return parser


def add_config_groups(parser: argparse.ArgumentParser, cls: type) -> None:
    """An option group per nested config block of ``cls``, then one ("run") for its own fields."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        block = hints[field.name]
        if not dataclasses.is_dataclass(block):
            continue
        doc = (block.__doc__ or "").strip().splitlines()
        group = parser.add_argument_group(field.name, doc[0] if doc else None)
        if block is TrainConfig:
            add_length_options(group)
        add_config_arguments(group, block)  # type: ignore[arg-type]
    add_config_arguments(parser.add_argument_group("run"), cls)


def add_length_options(group: Any) -> None:
    """--epochs or --iterations: the training length (TrainConfig.duration)."""
    length = group.add_mutually_exclusive_group()
    default = TrainConfig().length
    length.add_argument("--epochs", type=int, metavar="E",
                        help=f"training length in epochs; 0 only evaluates (default: {default.amount})")
    length.add_argument("--iterations", type=int, metavar="N",
                        help="training length in optimizer steps instead of epochs (default: none, --epochs applies)")


def config_from_namespace(cls: type, args: argparse.Namespace) -> Any:
    """The config given on the command line: every leaf option, and the training length."""
    values = {name: getattr(args, name) for name in leaf_fields(cls)}
    for derived in ("epochs", "iterations"):
        if getattr(args, derived, None) is not None:
            values[derived] = getattr(args, derived)
    return config_from_values(cls, values)


def handle(kind: RunKind[Any, Any], args: argparse.Namespace) -> int:
    """Run one kind's command: build its config, run it, print its summary."""
    config = config_from_namespace(kind.config, args)
    options = {option.name: getattr(args, option.name) for option in kind.options}
    result = kind.run(config, runs_dir=args.runs_dir, session=session_from_args(args), **options)
    text = kind.summary(result)
    if kind.name in RUN_REPORTS:
        text += "".join(f"\n{label} {path}" for label, path in RUN_REPORTS.get(kind.name)(result))
    print_result(args, text, result.to_json())
    return 0
