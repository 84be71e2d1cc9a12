"""Reports for people: tables and plots over run results."""

from ticketlab.text import format_table, percent

__all__ = ["format_table", "percent"]
