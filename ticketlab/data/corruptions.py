"""Common corruptions (noise, blur, digital) generated on the fly for any image data set.

Each corruption is a plain function ``(x, severity, generator) -> Tensor``: ``x`` holds
images in [0, 1] pixel space, shape (N, C, H, W), any C, H and W; ``severity`` is 1..5;
random draws come from the CPU ``generator`` (then move to ``x``'s device, so a seed gives
the same corruption on every device). The result is in [0, 1], same shape, dtype, device.
Whole batches are processed at once, with no per-image Python loop.

The severity parameters are those of Hendrycks & Dietterich's CIFAR-10-C generator
(``make_cifar_c.py``: 32x32 RGB images). Using the same numbers for 28x28 grey images
(MNIST, Fashion-MNIST) is a choice of ours, not part of any benchmark. Where the reference
relies on a library, the library's behaviour is written out: skimage's Gaussian filter
(truncated at 4 sigma, edge pixels repeated), skimage's salt-and-pepper noise (per value),
PIL's BOX resampling (pixelate), HSV brightness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ticketlab.data.batches import TensorSplit
from ticketlab.errors import ConfigError
from ticketlab.registry import Registry
from ticketlab.seeding import generator as named_generator

Corruption = Callable[[Tensor, int, torch.Generator], Tensor]

CORRUPTIONS: Registry[Corruption] = Registry("corruption")

SEVERITIES = (1, 2, 3, 4, 5)


def parameter(values: Sequence[float], severity: int) -> float:
    """The entry of ``values`` (one per severity 1..5) for ``severity``."""
    check_severity(severity)
    return values[severity - 1]


def check_severity(severity: object) -> None:
    """Raise a :class:`ConfigError` unless ``severity`` is an int in 1..5."""
    if isinstance(severity, bool) or not isinstance(severity, int) or severity not in SEVERITIES:
        raise ConfigError(f"corruption severity must be an integer in 1..5, got {severity!r}")


def _draw(kind: str, x: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal or uniform values shaped like ``x``, drawn on the CPU."""
    draw = torch.randn if kind == "normal" else torch.rand
    return draw(x.shape, generator=generator, dtype=x.dtype).to(x.device)


# ---- noise -------------------------------------------------------------------------------


@CORRUPTIONS.register("gaussian_noise", "additive Gaussian noise, sigma 0.04..0.10")
def gaussian_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """``x + N(0, sigma^2)`` per value, sigma in [0.04, 0.06, 0.08, 0.09, 0.10]."""
    sigma = parameter([0.04, 0.06, 0.08, 0.09, 0.10], severity)
    return (x + sigma * _draw("normal", x, generator)).clamp(0.0, 1.0)


@CORRUPTIONS.register("shot_noise", "Poisson (photon-count) noise, 500..50 photons at full intensity")
def shot_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """``Poisson(x * c) / c`` per value, c in [500, 250, 100, 75, 50]: the mean is kept."""
    photons = parameter([500, 250, 100, 75, 50], severity)
    rates = (x.detach().to("cpu", torch.float64) * photons).clamp_min(0.0)
    counts = torch.poisson(rates, generator=generator)
    return (counts / photons).to(x.device, x.dtype).clamp(0.0, 1.0)


@CORRUPTIONS.register("impulse_noise", "salt-and-pepper noise on 1%..7% of the values")
def impulse_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Each value independently becomes 0 with probability a/2, and 1 with probability a/2.

    a (the amount) in [0.01, 0.02, 0.03, 0.05, 0.07]; salt and pepper equally likely, per
    channel value as in skimage's ``random_noise(mode="s&p")``.
    """
    amount = parameter([0.01, 0.02, 0.03, 0.05, 0.07], severity)
    u = _draw("uniform", x, generator)
    out = torch.where(u < amount / 2, torch.zeros_like(x), x)
    return torch.where((u >= amount / 2) & (u < amount), torch.ones_like(x), out)


@CORRUPTIONS.register("speckle_noise", "multiplicative Gaussian noise, sigma 0.06..0.20")
def speckle_noise(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """``x + x * N(0, sigma^2)`` per value, sigma in [0.06, 0.10, 0.12, 0.16, 0.20]."""
    sigma = parameter([0.06, 0.10, 0.12, 0.16, 0.20], severity)
    return (x + x * sigma * _draw("normal", x, generator)).clamp(0.0, 1.0)


# ---- blur --------------------------------------------------------------------------------


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> Tensor:
    """The normalised 1-D Gaussian weights (float64) of radius ``int(truncate * sigma + 0.5)``.

    The same kernel as scipy's ``gaussian_filter`` (which skimage's ``gaussian`` calls).
    """
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def blur(x: Tensor, kernel: Tensor) -> Tensor:
    """Separable per-channel convolution of ``x`` with a 1-D ``kernel``, edges repeated."""
    channels = x.shape[1]
    radius = (kernel.numel() - 1) // 2
    k = kernel.to(x.device, x.dtype)
    padded = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, k.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(rows, k.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


@CORRUPTIONS.register("gaussian_blur", "Gaussian blur, sigma 0.4..1.0 pixels")
def gaussian_blur(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Gaussian blur of each channel, sigma in [0.4, 0.6, 0.7, 0.8, 1.0] pixels.

    Truncated at 4 sigma; pixels beyond the border repeat the edge (skimage's default).
    Deterministic: ``generator`` is not used.
    """
    sigma = parameter([0.4, 0.6, 0.7, 0.8, 1.0], severity)
    return blur(x, gaussian_kernel(sigma)).clamp(0.0, 1.0)


# ---- digital -----------------------------------------------------------------------------


@CORRUPTIONS.register("contrast", "contrast reduced to 75%..15% around each image's mean")
def contrast(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """``(x - m) * c + m`` with m the per-image, per-channel mean, c in [0.75, 0.5, 0.4, 0.3, 0.15]."""
    c = parameter([0.75, 0.5, 0.4, 0.3, 0.15], severity)
    means = x.mean(dim=(2, 3), keepdim=True)
    return ((x - means) * c + means).clamp(0.0, 1.0)


@CORRUPTIONS.register("brightness", "HSV value raised by 0.05..0.3, hue and saturation kept")
def brightness(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Add c in [0.05, 0.1, 0.15, 0.2, 0.3] to the HSV value V = max over channels, clipped at 1.

    Hue and saturation fixed means each pixel's channels scale by ``min(V + c, 1) / V``; a
    black pixel (V = 0, no hue) becomes grey at ``c``. For one channel this is
    ``min(x + c, 1)``; other channel counts are treated the same way (V = channel max).
    """
    c = parameter([0.05, 0.1, 0.15, 0.2, 0.3], severity)
    value = x.amax(dim=1, keepdim=True)
    raised = (value + c).clamp(max=1.0)
    scaled = x * (raised / value.clamp_min(torch.finfo(x.dtype).tiny))
    return torch.where(value > 0, scaled, raised.expand_as(x)).clamp(0.0, 1.0)


def box_downsample_matrix(size: int, small: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """(small, size) averaging weights of PIL's BOX filter from ``size`` to ``small`` pixels.

    Input pixel j goes to the output pixel whose span ``(i, i + 1] * size / small`` holds
    its centre: ``ceil((j + 0.5) * small / size) - 1``, in integer arithmetic. That is PIL's
    rule, except that PIL decides exact ties (a centre on a span boundary: never when
    ``small`` is odd or divides ``size``, nor for 28 or 32 pixels at the pixelate
    severities) by floating-point rounding. Rows sum to 1.
    """
    j = torch.arange(size)
    bins = ((2 * j + 1) * small - 1) // (2 * size)
    weights = torch.zeros(small, size, dtype=dtype)
    weights[bins, j] = 1.0
    return weights / weights.sum(dim=1, keepdim=True)


def nearest_indices(size: int, small: int) -> Tensor:
    """For each of ``size`` output pixels, the one of ``small`` input pixels holding its centre."""
    k = torch.arange(size)
    return ((2 * k + 1) * small) // (2 * size)


@CORRUPTIONS.register("pixelate", "box-downsample to 95%..65% of the side, then upsample")
def pixelate(x: Tensor, severity: int, generator: torch.Generator) -> Tensor:
    """Box-downsample each side to ``int(side * c)`` pixels, then nearest-upsample back.

    c in [0.95, 0.9, 0.85, 0.75, 0.65] (a 32-pixel side: 30, 28, 27, 24, 20; a 28-pixel
    side: 26, 25, 23, 21, 18). As PIL's BOX resampling: downsampling averages the pixels
    whose centres fall in each low-resolution pixel; upsampling copies the low-resolution
    pixel under each output pixel's centre. Deterministic: ``generator`` is not used.
    """
    c = parameter([0.95, 0.9, 0.85, 0.75, 0.65], severity)
    height, width = x.shape[2], x.shape[3]
    small_h, small_w = max(1, int(height * c)), max(1, int(width * c))
    rows = box_downsample_matrix(height, small_h).to(x.device, x.dtype)
    cols = box_downsample_matrix(width, small_w).to(x.device, x.dtype)
    small = torch.einsum("ih,nchw,jw->ncij", rows, x, cols)
    up_rows = nearest_indices(height, small_h).to(x.device)
    up_cols = nearest_indices(width, small_w).to(x.device)
    return small[:, :, up_rows][:, :, :, up_cols].clamp(0.0, 1.0)


# ---- names and splits --------------------------------------------------------------------


def resolve_corruptions(names: Iterable[str] | None) -> list[str]:
    """Registered corruption names in registry order, duplicates dropped; None means all.

    Unknown names and an empty selection raise a :class:`ConfigError`.
    """
    if names is None:
        return CORRUPTIONS.names()
    wanted = list(names)
    for name in wanted:
        CORRUPTIONS.entry(name)
    if not wanted:
        raise ConfigError("choose at least one corruption")
    return [name for name in CORRUPTIONS.names() if name in wanted]


def resolve_severities(severities: Iterable[int] | None) -> list[int]:
    """Severities sorted, duplicates dropped; None means 1..5. Others raise a ConfigError."""
    if severities is None:
        return list(SEVERITIES)
    found = list(severities)
    for severity in found:
        check_severity(severity)
    if not found:
        raise ConfigError("choose at least one corruption severity")
    return sorted(set(found))


def corrupt_split(
    split: TensorSplit,
    mean: Sequence[float],
    std: Sequence[float],
    name: str,
    severity: int,
    seed: int,
) -> TensorSplit:
    """``split`` with corruption ``name`` at ``severity``, normalised like the input.

    The images are taken back to [0, 1] pixels with ``mean``/``std`` (per channel),
    corrupted with ``ticketlab.seeding.generator(seed, name, severity)``, clipped, and
    normalised again: the same seed gives identical tensors, and every model evaluated
    with it sees the same corrupted images. Severity 0 means no corruption (only the
    round trip through pixel space), for checks. Labels and ``pad_value`` are kept.
    """
    corruption = CORRUPTIONS.get(name)
    if severity != 0:
        check_severity(severity)
    x = split.x if isinstance(split.x, Tensor) else split.x.tensor()  # mapped: read whole
    if x.dim() != 4 or len(mean) != x.shape[1] or len(std) != x.shape[1]:
        raise ConfigError(
            f"corrupt_split needs images (N, C, H, W) and C means and stds; got {tuple(x.shape)}, "
            f"{len(mean)} means, {len(std)} stds"
        )
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    pixels = (x * s + m).clamp(0.0, 1.0)
    if severity != 0:
        pixels = corruption(pixels, severity, named_generator(seed, name, severity)).clamp(0.0, 1.0)
    return TensorSplit((pixels - m) / s, split.y, split.pad_value)
