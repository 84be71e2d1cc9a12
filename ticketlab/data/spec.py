"""``--dataset`` values that name the user's own data: ``npz:FILE`` and ``folder:PATH``.

A registered name never holds a colon, so ``scheme:rest`` always means a file data set;
an unknown scheme or an empty path is a one-line :class:`ConfigError`.
"""

from __future__ import annotations

from pathlib import Path

from ticketlab.errors import ConfigError

SCHEMES = ("npz", "folder")
SPEC_HELP = "npz:FILE (arrays x_train, y_train, x_test, y_test) or folder:PATH (PATH/train/<class>/*.png...)"


def parse_spec(name: str) -> tuple[str, Path] | None:
    """``(scheme, path)`` of a file data set spec; None for a plain (registered) name."""
    scheme, colon, rest = name.partition(":")
    if not colon:
        return None
    if scheme not in SCHEMES:
        raise ConfigError(f"--dataset '{name}': unknown kind '{scheme}:'; use a data set name, {SPEC_HELP}")
    if not rest:
        raise ConfigError(f"--dataset '{name}': no path after '{scheme}:'")
    return scheme, Path(rest).expanduser()


def parse_dims(text: str, count: int, message: str) -> tuple[int, ...]:
    """``"AxBx..."`` as ``count`` positive ints; otherwise a ConfigError ``message``, with the text."""
    try:
        dims = tuple(int(p) for p in text.lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) != count or min(dims) < 1:
        raise ConfigError(f"{message}, got '{text}'")
    return dims


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"HxW"`` into (height, width), both positive."""
    return parse_dims(text, 2, "--image-size must look like 32x32 (HxW, positive)")  # type: ignore[return-value]
