"""``python -m ticketlab`` runs the command line."""

from ticketlab.cli.main import entry_point

entry_point()
