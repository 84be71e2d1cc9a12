"""The linearised pass against a brute-force pixel graph on random tiny CNN chains.

The oracle builds the explicit graph whose units are (channel, y, x) positions and whose
edges are single kernel-entry multiplications (or pooling-window memberships), using only
index arithmetic and the output shapes PyTorch reports; a kept weight is active iff one of
its edges starts at a unit the input reaches and ends at a unit that reaches the output.
"""

from __future__ import annotations

import copy
import random

import pytest
import torch
from torch import nn

from ticketlab.masks import Mask, effective_mask, full_mask

Unit = tuple[int, ...]
Label = tuple[str, tuple[int, ...]] | None  # (mask entry, weight index), or None: no weight


def layer_edges(module: nn.Module, name: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...], mask: Mask):
    """Edges (source unit, target unit, label) of one module; units exclude the batch dim."""
    edges: list[tuple[Unit, Unit, Label]] = []
    if isinstance(module, nn.Conv2d):
        kept = mask[f"{name}.weight"]
        (sy, sx), (py, px), (dy, dx) = module.stride, module.padding, module.dilation
        groups = module.groups
        in_per_group = module.in_channels // groups
        out_per_group = module.out_channels // groups
        _, height, width = in_shape
        out_c, out_h, out_w = out_shape
        for o in range(out_c):
            g = o // out_per_group
            for j in range(in_per_group):
                for ky in range(kept.shape[2]):
                    for kx in range(kept.shape[3]):
                        if not kept[o, j, ky, kx]:
                            continue
                        for y in range(out_h):
                            for x in range(out_w):
                                iy, ix = y * sy - py + ky * dy, x * sx - px + kx * dx
                                if 0 <= iy < height and 0 <= ix < width:
                                    edges.append(((g * in_per_group + j, iy, ix), (o, y, x), (f"{name}.weight", (o, j, ky, kx))))
    elif isinstance(module, nn.Linear):
        kept = mask[f"{name}.weight"]
        for o in range(module.out_features):
            for i in range(module.in_features):
                if kept[o, i]:
                    edges.append(((i,), (o,), (f"{name}.weight", (o, i))))
    elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        k = _pair(module.kernel_size)
        s = _pair(module.stride)
        p = _pair(module.padding)
        d = _pair(getattr(module, "dilation", 1))
        channels, height, width = in_shape
        _, out_h, out_w = out_shape
        for c in range(channels):
            for y in range(out_h):
                for x in range(out_w):
                    for ky in range(k[0]):
                        for kx in range(k[1]):
                            iy, ix = y * s[0] - p[0] + ky * d[0], x * s[1] - p[1] + kx * d[1]
                            if 0 <= iy < height and 0 <= ix < width:
                                edges.append(((c, iy, ix), (c, y, x), None))
    elif isinstance(module, (nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d)):
        channels, height, width = in_shape
        _, out_h, out_w = out_shape
        for c in range(channels):
            for y in range(out_h):
                for x in range(out_w):
                    for iy in range(y * height // out_h, -(-(y + 1) * height // out_h)):
                        for ix in range(x * width // out_w, -(-(x + 1) * width // out_w)):
                            edges.append(((c, iy, ix), (c, y, x), None))
    elif isinstance(module, nn.Flatten):
        channels, height, width = in_shape
        for c in range(channels):
            for y in range(height):
                for x in range(width):
                    edges.append(((c, y, x), ((c * height + y) * width + x,), None))
    else:  # activations, BatchNorm: unit to unit
        edges.extend((unit, unit, None) for unit in _all_units(in_shape))
    return edges


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return tuple(value) if isinstance(value, tuple) else (value, value)  # type: ignore[return-value]


def _all_units(shape: tuple[int, ...]) -> set[Unit]:
    return {tuple(i) for i in torch.ones(shape).nonzero().tolist()}


def pixel_oracle(model: nn.Sequential, mask: Mask, input_shape: tuple[int, ...]) -> Mask:
    shapes: list[tuple[int, ...]] = [input_shape]
    with torch.no_grad():
        x = torch.zeros(1, *input_shape)
        for module in copy.deepcopy(model).eval():
            x = module(x)
            shapes.append(tuple(x.shape[1:]))
    stages = [
        layer_edges(module, name, shapes[i], shapes[i + 1], mask)
        for i, (name, module) in enumerate(model.named_children())
    ]
    reached = [_all_units(shapes[0])]
    for edges in stages:
        reached.append({t for s, t, _ in edges if s in reached[-1]})
    reaching = [_all_units(shapes[-1])]
    for edges in reversed(stages):
        reaching.insert(0, {s for s, t, _ in edges if t in reaching[0]})
    active: dict[str, torch.Tensor] = {n: torch.zeros_like(m) for n, m in mask.items()}
    for i, edges in enumerate(stages):
        for s, t, label in edges:
            if label is not None and s in reached[i] and t in reaching[i + 1]:
                active[label[0]][label[1]] = True
    return active


def random_cnn(rng: random.Random) -> tuple[nn.Sequential, tuple[int, int, int]]:
    while True:
        channels = rng.randint(1, 3)
        side = rng.randint(1, 6)
        shape = (channels, side, side)
        modules: list[nn.Module] = []
        c = channels
        for _ in range(rng.randint(1, 3)):
            k = rng.randint(1, 3)
            groups = rng.choice([g for g in (1, 2, 3) if c % g == 0])
            out = groups * rng.randint(1, 2)
            modules.append(
                nn.Conv2d(c, out, k, stride=rng.choice([1, 1, 2]), padding=rng.randint(0, 2),
                          dilation=rng.choice([1, 1, 2]), groups=groups, bias=rng.random() < 0.5)
            )
            c = out
            if rng.random() < 0.3:
                modules.append(nn.BatchNorm2d(c))
            modules.append(rng.choice([nn.ReLU, nn.Sigmoid, nn.Tanh])())
            if rng.random() < 0.4:
                pk = rng.randint(1, 3)
                pool = rng.choice([nn.MaxPool2d, nn.MaxPool2d, nn.AvgPool2d])
                extra = {"dilation": rng.choice([1, 2])} if pool is nn.MaxPool2d else {}
                modules.append(pool(pk, stride=rng.randint(1, 2), padding=rng.randint(0, pk // 2),
                                    ceil_mode=rng.random() < 0.5, **extra))
        if rng.random() < 0.3:
            modules.append(rng.choice([nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d])(rng.randint(1, 2)))
        modules.append(nn.Flatten())
        model = nn.Sequential(*modules).eval()
        try:
            with torch.no_grad():
                features = model(torch.zeros(1, *shape)).shape[1]
        except RuntimeError:
            continue  # a geometry PyTorch rejects: draw again
        if features == 0 or features > 60:
            continue
        hidden = rng.randint(1, 4)
        model.append(nn.Linear(features, hidden))
        model.append(nn.ReLU())
        model.append(nn.Linear(hidden, rng.randint(1, 3)))
        model.train(rng.random() < 0.5)
        return model, shape


@pytest.mark.parametrize("chunk", range(3))
def test_linearised_pass_equals_pixel_graph_on_random_cnns(chunk: int) -> None:
    rng = random.Random(500 + chunk)
    generator = torch.Generator().manual_seed(500 + chunk)
    for case in range(25):
        model, shape = random_cnn(rng)
        density = rng.choice([1.0, rng.uniform(0.3, 0.9)])
        mask = {n: torch.rand(m.shape, generator=generator) < density for n, m in full_mask(model).items()}
        got = effective_mask(model, mask, shape)
        want = pixel_oracle(model, mask, shape)
        for name in mask:
            assert torch.equal(got[name], want[name]), f"chunk {chunk} case {case} {name}\n{model}"
