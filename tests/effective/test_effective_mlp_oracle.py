"""The linearised pass against the exact graph sweep on many random MLPs, and the sweep itself
against brute-force path enumeration."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks import (
    Mask,
    PrunableSpec,
    effective_mask,
    graph_effective_mask,
    prunable_parameters,
)

ACTIVATIONS = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.LeakyReLU, None)


def random_mlp(rng: random.Random) -> tuple[nn.Module, Mask, tuple[int, ...]]:
    """A random Linear chain (widths 1..12, depth 1..5), its activations, norms and a mask."""
    depth = rng.randint(1, 5)
    widths = [rng.randint(1, 12) for _ in range(depth + 1)]
    bias = rng.random() < 0.5
    torch.manual_seed(rng.randrange(2**31))
    modules: list[nn.Module] = []
    flat_input = rng.random() < 0.3 and widths[0] % 2 == 0
    if flat_input:
        modules.append(nn.Flatten())
    for index, (a, b) in enumerate(zip(widths, widths[1:])):
        modules.append(nn.Linear(a, b, bias=bias))
        if index + 1 < depth:
            if rng.random() < 0.25:
                modules.append(nn.BatchNorm1d(b))
            activation = rng.choice(ACTIVATIONS)
            if activation is not None:
                modules.append(activation())
            if rng.random() < 0.2:
                modules.append(nn.Dropout(0.5))
    model = nn.Sequential(*modules)
    model.train(rng.random() < 0.5)
    tokens = ["linear"]
    if bias and rng.random() < 0.5:
        tokens.append("biases")
    if depth > 1 and rng.random() < 0.2:
        tokens.append(rng.choice(["no-first", "no-last"]))
    generator = torch.Generator().manual_seed(rng.randrange(2**31))
    mask: Mask = {}
    for name, p in prunable_parameters(model, PrunableSpec(",".join(tokens))).items():
        regime = rng.random()
        if regime < 0.6:
            density = rng.uniform(0.15, 0.9)
        elif regime < 0.9:
            density = 10 ** rng.uniform(-2, -0.8)  # very sparse: mostly cut networks
        else:
            density = rng.choice([0.0, 1.0])
        mask[name] = torch.rand(p.shape, generator=generator) < density
    shape = (2, widths[0] // 2) if flat_input else (widths[0],)
    return model, mask, shape


@pytest.mark.parametrize("chunk", range(4))
def test_linearised_pass_equals_graph_sweep_on_random_mlps(chunk: int) -> None:
    rng = random.Random(1000 + chunk)
    for case in range(50):
        model, mask, shape = random_mlp(rng)
        got = effective_mask(model, mask, shape)
        want = graph_effective_mask(model, mask)
        assert list(got) == list(mask)
        for name in mask:
            assert got[name].dtype == torch.bool
            assert torch.equal(got[name], want[name]), f"chunk {chunk} case {case} entry {name}"


def paths_oracle(weights: list[torch.Tensor]) -> list[torch.Tensor]:
    """Active entries by enumerating every input-output path (tiny nets only)."""
    active = [torch.zeros_like(w) for w in weights]
    widths = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    for path in itertools.product(*(range(n) for n in widths)):
        edges = [(layer, path[layer + 1], path[layer]) for layer in range(len(weights))]
        if all(bool(weights[layer][o, i]) for layer, o, i in edges):
            for layer, o, i in edges:
                active[layer][o, i] = True
    return active


def test_graph_sweep_equals_path_enumeration() -> None:
    rng = random.Random(7)
    generator = torch.Generator().manual_seed(7)
    for _ in range(60):
        widths = [rng.randint(1, 4) for _ in range(rng.randint(2, 4))]
        model = nn.Sequential(*(nn.Linear(a, b, bias=False) for a, b in zip(widths, widths[1:])))
        density = rng.uniform(0.2, 0.8)
        mask = {n: torch.rand(p.shape, generator=generator) < density for n, p in model.named_parameters()}
        want = paths_oracle(list(mask.values()))
        got = graph_effective_mask(model, mask)
        for name, expected in zip(mask, want):
            assert torch.equal(got[name], expected)


def test_graph_sweep_hand_case() -> None:
    # 3 -> 2 -> 1: hidden unit 1 has no outgoing weight, so its incoming weights are dead.
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    mask = {
        "0.weight": torch.ones(2, 3, dtype=torch.bool),
        "0.bias": torch.ones(2, dtype=torch.bool),
        "2.weight": torch.tensor([[True, False]]),
        "2.bias": torch.ones(1, dtype=torch.bool),
    }
    got = graph_effective_mask(model, mask)
    assert got["0.weight"].tolist() == [[True, True, True], [False, False, False]]
    assert got["0.bias"].tolist() == [True, False]
    assert got["2.weight"].tolist() == [[True, False]]
    assert got["2.bias"].tolist() == [True]


def test_graph_sweep_rejects_non_mlps() -> None:
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 1))
    with pytest.raises(ConfigError, match="Linear layers only"):
        graph_effective_mask(conv, {"2.weight": torch.ones(1, 2, dtype=torch.bool)})

    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 3)
            self.b = nn.Linear(4, 2)

    with pytest.raises(ConfigError, match="not a chain"):
        graph_effective_mask(TwoHeads(), {"a.weight": torch.ones(3, 4, dtype=torch.bool)})
