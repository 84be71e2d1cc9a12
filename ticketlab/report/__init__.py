"""Reports for people: tables (and, in later issues, plots)."""

from ticketlab.report.table import format_table, percent

__all__ = ["format_table", "percent"]
