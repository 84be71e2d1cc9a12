"""Errors that describe a problem with the user's input.

The CLI prints any :class:`TicketlabError` as one line and exits with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TicketlabError(Exception):
    """A problem with the user's input (bad option, missing or corrupt file)."""


class ConfigError(TicketlabError):
    """An invalid or conflicting configuration value."""


class DataError(TicketlabError):
    """Data files that are missing, corrupt or inconsistent."""


class CheckpointError(TicketlabError):
    """A checkpoint, mask or run file that cannot be read back."""
