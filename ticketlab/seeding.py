"""Seeds derived from one user seed, stable across processes and platforms."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import torch


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from ``parts`` (e.g. ``derive_seed(seed, "order", epoch)``).

    Uses SHA-256, not Python's ``hash``, so it is the same in every process.
    """
    text = "/".join(str(p) for p in parts)
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def generator(*parts: int | str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``derive_seed(*parts)``."""
    return torch.Generator().manual_seed(derive_seed(*parts))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` without disturbing the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
