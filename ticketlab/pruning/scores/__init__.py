"""Pruning scores: one function per method, registered here and nowhere else.

A score maps a :class:`ScoreContext` to a float tensor per mask entry; higher means more
important and the LOWEST are pruned. Turning scores into masks is shared code
(:mod:`ticketlab.pruning.quotas`, :mod:`ticketlab.pruning.select`).
"""

from ticketlab.pruning.scores.context import ScoreContext, ScoreFn, ScoreMethod, Scores
from ticketlab.pruning.scores.gradient import grasp, snip
from ticketlab.pruning.scores.simple import lamp, magnitude, random
from ticketlab.pruning.scores.synflow import synflow
from ticketlab.registry import Registry

SCORES: Registry[ScoreMethod] = Registry("pruning method")

SCORES.add("magnitude", ScoreMethod(magnitude), "|w|")
SCORES.add("random", ScoreMethod(random), "i.i.d. uniform scores (the random-pruning baseline)")
SCORES.add("snip", ScoreMethod(snip, needs_data=True), "SNIP: |g * w| on a few scoring batches")
SCORES.add(
    "grasp", ScoreMethod(grasp, needs_data=True), "GraSP: (H g) * w, logits / T, lowest pruned"
)
SCORES.add(
    "synflow",
    ScoreMethod(synflow, default_rounds=100),
    "SynFlow: |dR/dw * w| of the |network| on ones, data-free, 100 rounds",
)
SCORES.add("lamp", ScoreMethod(lamp), "LAMP: w^2 over the sum of the not-smaller w^2 of its layer")

__all__ = ["SCORES", "ScoreContext", "ScoreFn", "ScoreMethod", "Scores"]
