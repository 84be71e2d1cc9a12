"""Lottery tickets: iterative pruning (magnitude by default) with rewinding and ablation branches."""

from ticketlab.tickets.branches import BRANCHES, BranchInput, parse_branches
from ticketlab.tickets.config import LotteryConfig
from ticketlab.tickets.imp import check_reachable, prune_level
from ticketlab.tickets.selection import select_epoch
from ticketlab.tickets.vocabulary import data_free_scores, quota_of, scope_choices

__all__ = [
    "BRANCHES",
    "BranchInput",
    "LotteryConfig",
    "check_reachable",
    "data_free_scores",
    "parse_branches",
    "prune_level",
    "quota_of",
    "scope_choices",
    "select_epoch",
]
