"""The ``ticketlab`` command: subcommands per capability over the Python API."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import ticketlab
from ticketlab.cli import (
    catalog,
    effective,
    export,
    report,
    reproduce,
    robustness,
    run_commands,
    sweep,
)
from ticketlab.cli.parser import Parser
from ticketlab.errors import TicketlabError

# Every registered run kind is a command (run_commands); then the commands over runs and registries.
COMMANDS = (run_commands, effective, sweep, reproduce, report, robustness, export, catalog)


def build_parser() -> Parser:
    """The full ``ticketlab`` parser with every subcommand."""
    parser = Parser(prog="ticketlab", description="Find, build and analyse sparse subnetworks (lottery tickets).")
    parser.add_argument("--version", action="version", version=f"ticketlab {ticketlab.__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; user errors print one line and return 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except TicketlabError as exc:
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"ticketlab: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ticketlab: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())
