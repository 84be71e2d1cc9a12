"""Every registry model: effective <= direct, padding-only taps, depth and sparsity extremes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.masks import (
    Mask,
    channel_effective_mask,
    count_kept,
    effective_mask,
    effective_pass,
    effective_sparsity,
    full_mask,
    sparsity,
    uniform_random_mask,
)
from ticketlab.models import MODELS, build_model

SMALL = (3, 8, 8)
CIFAR = (3, 32, 32)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def bernoulli_mask(model: nn.Module, density: float, seed: int) -> Mask:
    """Each weight kept with probability ``density`` (cheaper than exact counts at 20M)."""
    g = generator(seed)
    return {n: torch.rand(m.shape, generator=g) < density for n, m in full_mask(model).items()}


@pytest.fixture(scope="module")
def vgg19() -> nn.Module:
    return build_model("vgg19", CIFAR, 10)


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    return build_model("resnet18", CIFAR, 10)


def conv_input_sides(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, tuple[int, int]]:
    """(height, width) each Conv2d reads, from a real forward pass in eval mode."""
    sides: dict[str, tuple[int, int]] = {}
    handles = [
        module.register_forward_hook(lambda m, i, o, n=name: sides.__setitem__(n, tuple(i[0].shape[-2:])))
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return sides


def real_taps(conv: nn.Conv2d, side: tuple[int, int]) -> torch.Tensor:
    """(kh, kw) bool: taps that multiply a real pixel at some output position."""
    axes = []
    for axis in range(2):
        k, s = conv.kernel_size[axis], conv.stride[axis]
        p, d, n = conv.padding[axis], conv.dilation[axis], side[axis]
        outputs = (n + 2 * p - d * (k - 1) - 1) // s + 1
        axes.append(torch.tensor([any(0 <= y * s - p + t * d < n for y in range(outputs)) for t in range(k)]))
    return axes[0][:, None] & axes[1][None, :]


def dense_expectation(model: nn.Module, input_shape: tuple[int, ...]) -> Mask:
    """Full mask of a dense model: everything alive except taps that only see padding.

    With every weight kept, every real pixel of every map is reached (each output reads
    some real pixel) and reaches the output (each is read by some kernel or pool window
    of the next layer) for these shapes, so only padding decides.
    """
    sides = conv_input_sides(model, input_shape)
    expected = full_mask(model)
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            expected[f"{name}.weight"] &= real_taps(module, sides[name])[None, None]
    return expected


@pytest.mark.parametrize("name", MODELS.names())
def test_registry_models(name: str) -> None:
    model = build_model(name, SMALL, 10, width=0.25)
    dense = full_mask(model)
    got = effective_mask(model, dense, SMALL)
    want = dense_expectation(model, SMALL)
    for entry in dense:
        assert torch.equal(got[entry], want[entry]), entry
    for seed, removed in enumerate((0.5, 0.9, 0.99)):
        mask = uniform_random_mask(dense, removed, generator(seed))
        active = effective_mask(model, mask, SMALL)
        assert list(active) == list(mask)
        for entry in mask:
            assert not (active[entry] & ~mask[entry]).any(), entry
        assert count_kept(active)[0] <= count_kept(mask)[0]
    assert effective_sparsity(model, mask, SMALL) >= sparsity(mask)


def test_only_centre_taps_at_1x1_maps() -> None:
    # VGG-11 on 8x8: conv5..conv8 run on 1x1 maps (8 -> 4 -> 2 -> 1 -> 1), so only their
    # centre tap can be alive; the earlier convs keep all nine taps.
    model = build_model("vgg11", SMALL, 10, width=0.25)
    got = effective_mask(model, full_mask(model), SMALL)
    centre = torch.zeros(3, 3, dtype=torch.bool)
    centre[1, 1] = True
    for index in range(1, 9):
        kernel = got[f"conv{index}.weight"]
        expected = centre if index >= 5 else torch.ones(3, 3, dtype=torch.bool)
        assert torch.equal(kernel.any(0).any(0), expected), index
        assert torch.equal(kernel.all(0).all(0), expected), index


def watch_values(model: nn.Module) -> tuple[list[float], list[torch.utils.hooks.RemovableHandle]]:
    """Record max |output| of every leaf module during a pass (inf/NaN recorded as such)."""
    seen: list[float] = []

    def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
        seen.append(float(output.detach().abs().max()))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    return seen, handles


@pytest.mark.parametrize("density", [1.0, 0.05, 1e-3, 1e-6])
def test_vgg19_extremes_are_finite_and_within_the_channel_bound(vgg19: nn.Module, density: float) -> None:
    model = vgg19
    mask = bernoulli_mask(model, density, 3)
    seen, handles = watch_values(model)
    try:
        result = effective_pass(model, mask, CIFAR)
    finally:
        for handle in handles:
            handle.remove()
    assert seen and all(0.0 <= value <= 1.0 for value in seen)  # binarised: no growth, no NaN
    bound = channel_effective_mask(model, mask)
    for entry in mask:
        assert not (result.mask[entry] & ~bound[entry]).any(), entry
    active, total = count_kept(result.mask)
    if density == 1.0:
        # At 32x32 the last convs see 2x2 maps: every tap touches a real pixel.
        assert active == total and result.connected
    elif density == 0.05:
        assert 0 < active <= count_kept(mask)[0] and result.connected
    else:
        # With ~20 kept weights out of 20M no path can remain; the bound agrees at 1e-6.
        assert active <= count_kept(bound)[0]
        assert result.connected == (active > 0)
    if density == 1e-6:
        assert active == 0 and not result.connected and count_kept(bound)[0] == 0


def resnet_channel_bound(model: nn.Module, mask: Mask) -> Mask:
    """Channel-level sweep written for the CIFAR ResNet's structure (stem, blocks, fc)."""

    def links(name: str, shape: torch.Size) -> torch.Tensor:
        kept = mask.get(f"{name}.weight", torch.ones(shape, dtype=torch.bool))
        return kept.flatten(2).any(2) if kept.dim() == 4 else kept

    modules = dict(model.named_modules())
    blocks = [n for n, m in modules.items() if type(m).__name__ == "BasicBlock"]
    stem = links("conv1", modules["conv1"].weight.shape)
    reach = stem.any(1)  # every input channel is reached
    forward: dict[str, torch.Tensor] = {"conv1": torch.ones(stem.shape[1], dtype=torch.bool)}
    for block in blocks:
        c1 = links(f"{block}.conv1", modules[f"{block}.conv1"].weight.shape)
        c2 = links(f"{block}.conv2", modules[f"{block}.conv2"].weight.shape)
        forward[f"{block}.conv1"] = reach
        mid = (c1 & reach[None]).any(1)
        forward[f"{block}.conv2"] = mid
        out = (c2 & mid[None]).any(1)
        if f"{block}.shortcut.conv" in modules:
            sc = links(f"{block}.shortcut.conv", modules[f"{block}.shortcut.conv"].weight.shape)
            forward[f"{block}.shortcut.conv"] = reach
            out = out | (sc & reach[None]).any(1)
        else:
            out = out | reach
        reach = out
    forward["fc"] = reach
    fc = links("fc", modules["fc"].weight.shape)
    back: dict[str, torch.Tensor] = {"fc": torch.ones(fc.shape[0], dtype=torch.bool)}
    co = (fc & back["fc"][:, None]).any(0)
    for block in reversed(blocks):
        c1 = links(f"{block}.conv1", modules[f"{block}.conv1"].weight.shape)
        c2 = links(f"{block}.conv2", modules[f"{block}.conv2"].weight.shape)
        back[f"{block}.conv2"] = co
        mid = (c2 & co[:, None]).any(0)
        back[f"{block}.conv1"] = mid
        into = (c1 & mid[:, None]).any(0)
        if f"{block}.shortcut.conv" in modules:
            sc = links(f"{block}.shortcut.conv", modules[f"{block}.shortcut.conv"].weight.shape)
            back[f"{block}.shortcut.conv"] = co
            into = into | (sc & co[:, None]).any(0)
        else:
            into = into | co
        co = into
    back["conv1"] = co
    bound: Mask = {}
    for entry, kept in mask.items():
        layer = entry.rsplit(".", 1)[0]
        alive = links(layer, kept.shape) & forward[layer][None] & back[layer][:, None]
        bound[entry] = kept & alive.view(*alive.shape, *([1] * (kept.dim() - 2)))
    return bound


@pytest.mark.parametrize("sparsity", [0.0, 0.9, 0.99, 0.998])
def test_resnet18_within_its_channel_bound(resnet18: nn.Module, sparsity: float) -> None:
    model = resnet18
    mask = bernoulli_mask(model, 1.0 - sparsity, 11)
    result = effective_pass(model, mask, CIFAR)
    bound = resnet_channel_bound(model, mask)
    for entry in mask:
        assert not (result.mask[entry] & ~bound[entry]).any(), entry
    active, total = count_kept(result.mask)
    if sparsity == 0.0:
        assert active == total  # the last stage runs on 4x4 maps: every tap is real
    else:
        assert 0 < active < count_kept(mask)[0]
        # Skips carry the signal around cut branches: the bound is met on most layers.
        assert active >= 0.9 * count_kept(bound)[0]
