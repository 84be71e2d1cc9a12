"""Steps 2-5 of IMC on one block of weights (all prunable weights, or one layer).

For the block's flat weights W* and the loss L restricted to them: the extreme Hessian
eigenpairs by Lanczos, the Hessian diagonal by Hutchinson, Lip(F) on the epsilon-ball, the
smallest gap lambda_{N+1} - lambda_N > 2 Lip(F), and per weight a *fastness* score: its
squared norm in the fast eigen-subspace (above the gap), from which step 6 picks weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ticketlab.errors import ConfigError
from ticketlab.imc.config import SpectrumConfig
from ticketlab.imc.gap import Gap, find_gap
from ticketlab.imc.hutchinson import hutchinson_diagonal
from ticketlab.imc.lanczos import Spectrum, extreme_eigenpairs
from ticketlab.imc.lipschitz import LipschitzEstimate, lipschitz_estimate
from ticketlab.imc.objective import Objective, flat_parameters, model_objective
from ticketlab.seeding import generator

Log = Callable[[str], None]

# Lanczos keeps one basis vector per step; past this it asks for fewer steps instead.
BASIS_BYTES_LIMIT = 16 * 2**30


@dataclass
class BlockAnalysis:
    """Everything steps 2-5 found for one block of weights."""

    name: str
    names: list[str]
    spectrum: Spectrum
    lipschitz: LipschitzEstimate
    gap: Gap | None
    diagonal: Tensor
    fastness: Tensor
    hvps: int
    seconds: float

    @property
    def size(self) -> int:
        return self.spectrum.size

    def summary(self) -> dict[str, Any]:
        """The JSON record of the block (eigenvalues, gap, Lip(F); no per-weight vectors)."""
        return {
            "block": self.name,
            "parameters": self.names,
            "d": self.size,
            "spectrum": self.spectrum.summary(),
            "trace_estimate": float(self.diagonal.double().sum()),
            "lipschitz": self.lipschitz.as_dict(),
            "gap": None if self.gap is None else self.gap.as_dict(),
            "condition_held": self.gap is not None,
            "hvps": self.hvps,
            "seconds": self.seconds,
        }


def fastness(spectrum: Spectrum, gap: Gap | None, fallback_top: int) -> Tensor:
    """Per weight, its squared norm in the fast eigen-subspace (eigenvalues above the gap).

    When the fast side is not resolved but the slow side is (a gap among the smallest
    eigenvalues), it is 1 minus the squared norm in the slow subspace, the same quantity.
    Without a gap the fast side is taken to be the ``fallback_top`` largest eigenpairs.
    """
    d = spectrum.size
    if spectrum.complete:
        vectors = spectrum.bottom_vectors
        assert vectors is not None
        start = gap.index if gap is not None else max(0, d - fallback_top)
        return vectors[start:].square().sum(0)
    top, bottom = spectrum.top_vectors, spectrum.bottom_vectors
    assert top is not None and bottom is not None
    if gap is None:
        return top.square().sum(0)
    first_top = d - spectrum.top_values.numel() + 1  # 1-based eigen index of top[0]
    if gap.index >= first_top:
        return top[gap.index - first_top + 1 :].square().sum(0)
    return 1.0 - bottom[: gap.index].square().sum(0)


def analyse_block(
    objective: Objective,
    point: Tensor,
    *,
    name: str,
    names: Sequence[str],
    config: SpectrumConfig,
    seed: int,
    log: Log,
) -> BlockAnalysis:
    """Steps 2-5 for ``objective`` around ``point`` (see the module docstring)."""
    started = time.monotonic()
    before = objective.hvp_count
    basis_bytes = min(config.lanczos_steps, objective.size) * objective.size * objective.dtype.itemsize
    if basis_bytes > BASIS_BYTES_LIMIT:
        raise ConfigError(
            f"{name}: {config.lanczos_steps} Lanczos steps over {objective.size:,} weights need "
            f"{basis_bytes / 2**30:.0f} GiB of basis vectors; lower --lanczos-steps or use --spectrum layerwise"
        )

    def hessian(v: Tensor) -> Tensor:
        return objective.hvp(point, v)

    spectrum = extreme_eigenpairs(
        hessian, objective.size, top=config.eigenpairs, bottom=config.smallest, max_steps=config.lanczos_steps,
        tol=config.lanczos_tol, generator=generator(seed, "lanczos", name), dtype=objective.dtype,
        device=objective.device, log=lambda line: log(f"{name}: {line}"),
    )
    diagonal = hutchinson_diagonal(hessian, objective.size, samples=config.hutchinson_samples,
                                   generator=generator(seed, "hutchinson", name), dtype=objective.dtype,
                                   device=objective.device)
    lip = lipschitz_estimate(objective, point, epsilon=config.epsilon, p=config.norm_p, restarts=config.lip_restarts,
                             iterations=config.lip_iterations, generator=generator(seed, "lipschitz", name))
    gap = find_gap(spectrum.known_pairs(), lip.value)
    seconds = time.monotonic() - started
    log(f"{name}: d={objective.size}, lambda in [{float(spectrum.bottom_values[0]):.4g}, "
        f"{float(spectrum.top_values[-1] if spectrum.top_values.numel() else spectrum.bottom_values[-1]):.4g}], "
        f"Lip(F) ~ {lip.value:.4g}, "
        + (f"gap after N={gap.index} ({gap.lower:.4g} -> {gap.upper:.4g})" if gap else "no gap > 2 Lip(F)")
        + f", {objective.hvp_count - before} HVPs, {seconds:.1f}s")
    return BlockAnalysis(name=name, names=list(names), spectrum=spectrum, lipschitz=lip, gap=gap,
                         diagonal=diagonal, fastness=fastness(spectrum, gap, config.eigenpairs),
                         hvps=objective.hvp_count - before, seconds=seconds)


def analyse(
    model: nn.Module,
    names: Sequence[str],
    batches: Sequence[tuple[Tensor, Tensor]],
    config: SpectrumConfig,
    *,
    seed: int,
    log: Log,
) -> list[BlockAnalysis]:
    """Steps 2-5 for the prunable weights ``names`` of ``model`` (at W*): one block, or one per layer."""
    blocks = [("all", list(names))] if config.scope == "global" else [(n, [n]) for n in names]
    found = []
    for name, members in blocks:
        objective = model_objective(model, members, batches)
        point = flat_parameters(model, members)
        found.append(analyse_block(objective, point, name=name, names=members, config=config, seed=seed, log=log))
    return found


def cpu_copy(tensor: Tensor) -> Tensor:
    """A detached float32 copy on the CPU (what the run directory stores)."""
    return tensor.detach().to("cpu", torch.float32).clone()
