"""Corruptions against hand-computed values, statistics, and independent references."""

from __future__ import annotations

import colorsys
import math

import pytest
import torch

from ticketlab.data import TensorSplit
from ticketlab.data.corruptions import (
    CORRUPTIONS,
    brightness,
    contrast,
    corrupt_split,
    gaussian_blur,
    gaussian_noise,
    impulse_noise,
    pixelate,
    resolve_corruptions,
    resolve_severities,
    shot_noise,
    speckle_noise,
)
from ticketlab.errors import ConfigError
from ticketlab.seeding import generator

REQUIRED = ("gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "contrast", "brightness", "pixelate")


def image(*values: float) -> torch.Tensor:
    """One grey image of one row: (1, 1, 1, W)."""
    return torch.tensor(values, dtype=torch.float64).view(1, 1, 1, -1)


def rgb(*pixel: float) -> torch.Tensor:
    """One RGB image of one pixel: (1, 3, 1, 1)."""
    return torch.tensor(pixel, dtype=torch.float64).view(1, 3, 1, 1)


def g() -> torch.Generator:
    return generator(0, "test")


def test_required_corruptions_are_registered() -> None:
    assert set(REQUIRED) <= set(CORRUPTIONS.names())


# ---- hand-computed values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(1, [0.25, 0.55]), (2, [0.3, 0.5]), (5, [0.37, 0.43])],
)
def test_contrast_on_two_pixels(severity: int, expected: list[float]) -> None:
    # mean 0.4; factor c in [0.75, 0.5, 0.4, 0.3, 0.15]
    out = contrast(image(0.2, 0.6), severity, g())
    assert out.flatten().tolist() == pytest.approx(expected, abs=1e-12)


def test_contrast_uses_each_image_and_channel_mean() -> None:
    x = torch.tensor([[[[0.0, 1.0]], [[0.5, 0.5]]], [[[0.2, 0.4]], [[0.9, 0.1]]]], dtype=torch.float64)
    out = contrast(x, 2, g())  # c = 0.5
    expected = [[[[0.25, 0.75]], [[0.5, 0.5]]], [[[0.25, 0.35]], [[0.7, 0.3]]]]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64))


def test_brightness_on_grey_adds_and_clips() -> None:
    out = brightness(image(0.0, 0.5, 0.8, 1.0), 5, g())  # c = 0.3
    assert out.flatten().tolist() == pytest.approx([0.3, 0.8, 1.0, 1.0], abs=1e-12)


def test_brightness_keeps_the_hue_of_a_pure_red_pixel() -> None:
    out = brightness(rgb(0.5, 0.0, 0.0), 5, g())  # V 0.5 -> 0.8
    assert out.flatten().tolist() == pytest.approx([0.8, 0.0, 0.0], abs=1e-12)
    # an orange pixel: V 0.6 -> 0.75, every channel scaled by 1.25
    out = brightness(rgb(0.6, 0.3, 0.0), 3, g())
    assert out.flatten().tolist() == pytest.approx([0.75, 0.375, 0.0], abs=1e-12)


def test_brightness_matches_colorsys_hsv() -> None:
    pixels = torch.rand(200, 3, generator=generator(1, "pixels"), dtype=torch.float64)
    pixels[0] = 0.0  # black: no hue, becomes grey
    pixels[1] = torch.tensor([1.0, 0.2, 0.0])  # already at full value
    for severity, c in zip(range(1, 6), [0.05, 0.1, 0.15, 0.2, 0.3]):
        out = brightness(pixels.view(200, 3, 1, 1), severity, g()).view(200, 3)
        for p, o in zip(pixels.tolist(), out.tolist()):
            h, s, v = colorsys.rgb_to_hsv(*p)
            assert o == pytest.approx(list(colorsys.hsv_to_rgb(h, s, min(v + c, 1.0))), abs=1e-9)


def test_brightness_of_a_grey_rgb_image_equals_the_grey_result() -> None:
    grey = torch.rand(2, 1, 5, 5, generator=generator(2, "grey"))
    out_rgb = brightness(grey.expand(2, 3, 5, 5), 4, g())
    out_grey = brightness(grey, 4, g())
    for channel in range(3):
        torch.testing.assert_close(out_rgb[:, channel : channel + 1], out_grey)


def test_pixelate_4x4_at_severity_5_averages_2x2_blocks() -> None:
    x = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4) / 16  # int(4 * 0.65) = 2
    out = pixelate(x, 5, g())
    block = torch.tensor([[2.5, 4.5], [10.5, 12.5]], dtype=torch.float64) / 16
    expected = block.repeat_interleave(2, dim=0).repeat_interleave(2, dim=1)
    torch.testing.assert_close(out[0, 0], expected)


def test_pixelate_4_to_3_pixels_merges_the_middle_rows() -> None:
    # int(4 * 0.75) = 3: pixel centres 0.5..3.5 fall in spans (0, 4/3], (4/3, 8/3], (8/3, 4]
    x = torch.tensor([0.0, 0.2, 0.6, 1.0], dtype=torch.float64).view(1, 1, 4, 1).expand(1, 1, 4, 4)
    out = pixelate(x, 4, g())
    assert out[0, 0, :, 0].tolist() == pytest.approx([0.0, 0.4, 0.4, 1.0], abs=1e-12)
    torch.testing.assert_close(out, out[:, :, :, :1].expand_as(out))


def test_pixelate_tie_goes_to_the_earlier_pixel() -> None:
    # int(3 * 0.75) = 2: spans (0, 1.5], (1.5, 3]; the middle centre 1.5 is a tie (PIL: earlier)
    x = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64).view(1, 1, 1, 3)
    assert pixelate(x, 4, g()).flatten().tolist() == pytest.approx([0.2, 1.0, 1.0], abs=1e-12)


@pytest.mark.parametrize(("height", "width"), [(28, 28), (32, 32), (28, 32)])
def test_pixelate_matches_pil_box_resampling(height: int, width: int) -> None:
    # Sides of 28 and 32 have no ties (a pixel centre on a span boundary), which PIL
    # resolves by floating-point rounding.
    np = pytest.importorskip("numpy")
    pil = pytest.importorskip("PIL.Image")
    a = torch.rand(height, width, generator=generator(3, "pil"))
    for severity, c in zip(range(1, 6), [0.95, 0.9, 0.85, 0.75, 0.65]):
        small = pil.fromarray(a.numpy(), mode="F").resize((int(width * c), int(height * c)), pil.BOX)
        reference = torch.from_numpy(np.asarray(small.resize((width, height), pil.BOX)).copy())
        out = pixelate(a.view(1, 1, height, width), severity, g())[0, 0]
        torch.testing.assert_close(out, reference, atol=1e-6, rtol=0)


def test_gaussian_blur_of_a_delta_has_gaussian_weights() -> None:
    x = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    x[0, 0, 4, 4] = 1.0
    out = gaussian_blur(x, 1, g())[0, 0]  # sigma 0.4: radius int(4 * 0.4 + 0.5) = 2
    raw = [math.exp(-(d * d) / (2 * 0.4**2)) for d in range(-2, 3)]
    w = [r / sum(raw) for r in raw]
    assert w[2] == pytest.approx(0.919218, abs=1e-6) and w[1] == pytest.approx(0.040388, abs=1e-6)
    expected = torch.zeros(9, 9, dtype=torch.float64)
    for i in range(5):
        for j in range(5):
            expected[2 + i, 2 + j] = w[i] * w[j]
    torch.testing.assert_close(out, expected)
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-12)


def test_gaussian_blur_support_is_four_sigma() -> None:
    x = torch.zeros(1, 1, 11, 11, dtype=torch.float64)
    x[0, 0, 5, 5] = 1.0
    out = gaussian_blur(x, 5, g())[0, 0]  # sigma 1: radius 4
    assert float(out[5, 1]) > 0 and float(out[5, 0]) == 0.0 and float(out[0, 5]) == 0.0
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(out[5, 6] / out[5, 5]) == pytest.approx(math.exp(-0.5), rel=1e-12)


def test_gaussian_blur_repeats_edges() -> None:
    flat = torch.full((1, 2, 3, 4), 0.7, dtype=torch.float64)
    torch.testing.assert_close(gaussian_blur(flat, 5, g()), flat)
    tiny = torch.full((1, 1, 1, 1), 0.3)  # a 1x1 image with radius 4: padding beyond the image
    torch.testing.assert_close(gaussian_blur(tiny, 5, g()), tiny)


# ---- statistics ------------------------------------------------------------------------


def test_impulse_noise_changes_the_right_fraction_to_0_or_1() -> None:
    x = torch.full((2, 3, 100, 50), 0.5)  # 30000 values
    out = impulse_noise(x, 5, g())  # amount 0.07
    zeros = float((out == 0).float().mean())
    ones = float((out == 1).float().mean())
    assert zeros == pytest.approx(0.035, abs=0.004) and ones == pytest.approx(0.035, abs=0.004)
    assert bool(((out == 0) | (out == 1) | (out == 0.5)).all())


def test_shot_noise_keeps_the_mean_and_has_poisson_variance() -> None:
    x = torch.full((1, 1, 200, 200), 0.3, dtype=torch.float64)
    out = shot_noise(x, 5, g())  # 50 photons: Poisson(15) / 50
    assert float(out.mean()) == pytest.approx(0.3, abs=0.002)
    assert float(out.var()) == pytest.approx(0.3 / 50, rel=0.05)
    counts = out * 50
    torch.testing.assert_close(counts, counts.round())  # whole photon counts


def test_gaussian_and_speckle_noise_have_the_listed_sigma() -> None:
    x = torch.full((1, 1, 200, 200), 0.5, dtype=torch.float64)
    assert float((gaussian_noise(x, 3, g()) - x).std()) == pytest.approx(0.08, rel=0.03)
    assert float((speckle_noise(x, 5, g()) - x).std()) == pytest.approx(0.5 * 0.2, rel=0.03)
    assert float((gaussian_noise(x, 3, g()) - x).mean()) == pytest.approx(0.0, abs=0.002)


# ---- properties of every corruption ------------------------------------------------------


def random_images(channels: int, side: int) -> torch.Tensor:
    x = torch.rand(3, channels, side, side, generator=generator(4, "images", channels))
    x[0, 0, 0, :2] = torch.tensor([0.0, 1.0])  # the extremes
    return x


@pytest.mark.parametrize("name", CORRUPTIONS.names())
@pytest.mark.parametrize(("channels", "side"), [(1, 28), (3, 32)])
def test_output_in_range_same_shape_and_monotone_in_severity(name: str, channels: int, side: int) -> None:
    corruption = CORRUPTIONS.get(name)
    x = random_images(channels, side)
    changes = []
    for severity in range(1, 6):
        out = corruption(x, severity, generator(0, name, severity))
        assert out.shape == x.shape and out.dtype == x.dtype
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
        changes.append(float((out - x).abs().mean()))
    assert all(a < b for a, b in zip(changes, changes[1:])), changes
    assert changes[0] > 0


@pytest.mark.parametrize("name", CORRUPTIONS.names())
def test_same_seed_same_output(name: str) -> None:
    corruption = CORRUPTIONS.get(name)
    x = random_images(3, 8)
    first = corruption(x, 3, generator(5, name))
    torch.testing.assert_close(first, corruption(x, 3, generator(5, name)), atol=0, rtol=0)
    if name.endswith("noise"):
        assert not torch.equal(first, corruption(x, 3, generator(6, name)))


@pytest.mark.parametrize("name", ["gaussian_blur", "contrast", "pixelate"])
def test_channels_are_corrupted_independently(name: str) -> None:
    corruption = CORRUPTIONS.get(name)
    x = random_images(3, 9)
    out = corruption(x, 4, g())
    for channel in range(3):
        alone = corruption(x[:, channel : channel + 1], 4, g())
        torch.testing.assert_close(out[:, channel : channel + 1], alone)


def test_non_square_images_and_severity_checks() -> None:
    x = torch.rand(2, 1, 5, 11, generator=generator(7))
    for entry in CORRUPTIONS:
        assert entry.value(x, 5, g()).shape == x.shape
        for bad in (0, 6, 2.0, True):
            with pytest.raises(ConfigError, match="severity"):
                entry.value(x, bad, g())  # type: ignore[arg-type]


# ---- selections and splits ---------------------------------------------------------------


def test_resolve_names_and_severities() -> None:
    assert resolve_corruptions(None) == CORRUPTIONS.names()
    assert resolve_corruptions(["pixelate", "gaussian_noise", "pixelate"]) == ["gaussian_noise", "pixelate"]
    assert resolve_severities(None) == [1, 2, 3, 4, 5]
    assert resolve_severities([5, 1, 5]) == [1, 5]
    with pytest.raises(ConfigError, match="unknown corruption 'fog'"):
        resolve_corruptions(["fog"])
    with pytest.raises(ConfigError):
        resolve_corruptions([])
    with pytest.raises(ConfigError, match="1..5"):
        resolve_severities([0])
    with pytest.raises(ConfigError):
        resolve_severities([])


def normalised_split() -> tuple[TensorSplit, tuple[float, ...], tuple[float, ...], torch.Tensor]:
    mean, std = (0.2, 0.5, 0.7), (0.3, 0.25, 0.2)
    pixels = (torch.randint(0, 256, (6, 3, 5, 5), generator=generator(8)) / 255.0).float()
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    split = TensorSplit((pixels - m) / s, torch.arange(6), -torch.tensor(mean) / torch.tensor(std))
    return split, mean, std, pixels


def test_corrupt_split_round_trip_and_determinism() -> None:
    split, mean, std, pixels = normalised_split()
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    clean = corrupt_split(split, mean, std, "gaussian_noise", 0, seed=1)  # severity 0: no corruption
    torch.testing.assert_close(clean.x, split.x, atol=1e-6, rtol=0)
    noisy = corrupt_split(split, mean, std, "gaussian_noise", 5, seed=1)
    again = corrupt_split(split, mean, std, "gaussian_noise", 5, seed=1)
    other = corrupt_split(split, mean, std, "gaussian_noise", 5, seed=2)
    assert torch.equal(noisy.x, again.x) and not torch.equal(noisy.x, other.x)
    assert torch.equal(noisy.y, split.y) and torch.equal(noisy.pad_value, split.pad_value)
    back = noisy.x * s + m
    assert float(back.min()) >= -1e-6 and float(back.max()) <= 1 + 1e-6
    assert float((back - pixels).std()) == pytest.approx(0.10, rel=0.2)


def test_corrupt_split_applies_the_corruption_in_pixel_space() -> None:
    split, mean, std, pixels = normalised_split()
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    out = corrupt_split(split, mean, std, "contrast", 2, seed=0)
    means = pixels.mean(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(out.x * s + m, (pixels - means) * 0.5 + means, atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="unknown corruption"):
        corrupt_split(split, mean, std, "fog", 1, seed=0)
    with pytest.raises(ConfigError, match="severity"):
        corrupt_split(split, mean, std, "contrast", 6, seed=0)
    with pytest.raises(ConfigError, match="means"):
        corrupt_split(split, mean[:1], std[:1], "contrast", 1, seed=0)
