"""IMC: inertial-manifold compression (Zhang et al., NeurIPS 2021; seed 002).

What follows the seed: (1) W* is reached by 10 SGD iterations from the initialisation;
(6) the network is pruned to d - k weights and trained; p = 2 and epsilon = 0.01.

What is our reading of inertial-manifold theory (every choice an option of
:mod:`ticketlab.imc.config`): the Hessian is that of the mean training loss on a
class-stratified sample, over all prunable weights or per layer; Lanczos resolves its
extreme eigenpairs and Hutchinson its diagonal; Lip(F) of the remainder
F(U) = -(grad L(W*+U) - grad L(W*) - H U) on the p-ball of radius epsilon is
sup ||H(W*+U) - H(W*)||, searched from random starts (a lower bound); N is the smallest
index with a resolved gap lambda_{N+1} - lambda_N > 2 Lip(F); keeping the slow side
(d - k = N) or the fast side (d - k = d - N), and mapping the kept subspace to weights by
leverage or by the Hessian diagonal.

The pieces: :mod:`~ticketlab.imc.objective` (loss, gradient, HVP of a flat vector),
:mod:`~ticketlab.imc.lanczos`, :mod:`~ticketlab.imc.hutchinson`,
:mod:`~ticketlab.imc.lipschitz`, :mod:`~ticketlab.imc.gap`, :mod:`~ticketlab.imc.analysis`
(steps 2-5 per block) and :mod:`~ticketlab.imc.select` (step 6). The run directories are
:mod:`ticketlab.runs.imc_run`.
"""

from ticketlab.imc.analysis import BlockAnalysis, analyse, fastness
from ticketlab.imc.config import SelectConfig, SpectrumConfig
from ticketlab.imc.gap import Gap, find_gap
from ticketlab.imc.hutchinson import hutchinson_diagonal
from ticketlab.imc.lanczos import Spectrum, extreme_eigenpairs
from ticketlab.imc.lipschitz import LipschitzEstimate, lipschitz_estimate
from ticketlab.imc.objective import Objective, flat_parameters, model_objective
from ticketlab.imc.select import imc_mask, kept_count

__all__ = [
    "BlockAnalysis",
    "Gap",
    "LipschitzEstimate",
    "Objective",
    "SelectConfig",
    "Spectrum",
    "SpectrumConfig",
    "analyse",
    "extreme_eigenpairs",
    "fastness",
    "find_gap",
    "flat_parameters",
    "hutchinson_diagonal",
    "imc_mask",
    "kept_count",
    "lipschitz_estimate",
    "model_objective",
]
