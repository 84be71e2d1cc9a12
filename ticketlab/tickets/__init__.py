"""Lottery tickets: iterative magnitude pruning with rewinding and ablation branches."""

from ticketlab.tickets.branches import BRANCHES, BranchInput, parse_branches
from ticketlab.tickets.config import SCOPES, LotteryConfig
from ticketlab.tickets.imp import magnitude_prune
from ticketlab.tickets.selection import select_epoch

__all__ = ["BRANCHES", "SCOPES", "BranchInput", "LotteryConfig", "magnitude_prune", "parse_branches", "select_epoch"]
