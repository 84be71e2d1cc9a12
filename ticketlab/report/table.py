"""Plain-text tables: kept here for callers of the old location (experiments, tests)."""

from ticketlab.text import format_table, percent

__all__ = ["format_table", "percent"]
