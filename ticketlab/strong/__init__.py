"""Strong lottery tickets: random subset sum, constructions, edge-popup, annealed targets."""

from ticketlab.strong.construct import CONSTRUCTIONS, Construction, construct
from ticketlab.strong.subset_sum import SOLVERS, SubsetSumResult, solve_subset_sum

__all__ = ["CONSTRUCTIONS", "SOLVERS", "Construction", "SubsetSumResult", "construct", "solve_subset_sum"]
