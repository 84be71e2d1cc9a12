"""The argument parser: one-line errors with exit status 2, and the shared option groups."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn

from ticketlab.errors import ConfigError
from ticketlab.runs.execute import Session


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with 2."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_data_location_options(group: Any) -> None:
    """--data-dir and --download, for every command that reads a data set."""
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        help="look for data files here first, then in $TICKETLAB_DATA, the user cache and "
        "/usr/share/datasets (default: none)",
    )
    group.add_argument("--download", action="store_true", help="download missing data files from the official source")


def add_device_option(group: Any) -> None:
    """--device, for every command that runs a model."""
    group.add_argument(
        "--device", default="auto", help="cpu, cuda, cuda:N, or auto: cuda when available (default: auto)"
    )


def add_run_options(parser: argparse.ArgumentParser, *, trains: bool = True) -> None:
    """Where runs and data live and how the work is executed (not part of the run hash).

    ``trains``: the command trains a model, so checkpoints and TensorBoard apply.
    """
    group = parser.add_argument_group("execution (not part of the run's config)")
    group.add_argument("--runs-dir", default="runs", metavar="DIR", help="where run directories are written (default: runs)")
    add_data_location_options(group)
    add_device_option(group)
    group.add_argument("--threads", type=int, metavar="N", help="CPU threads for PyTorch (default: PyTorch's choice)")
    group.add_argument(
        "--max-memory", metavar="SIZE", default=None,
        help="memory the normalised data may take (bytes, or with K, M, G, T: 512M, 4G); a larger data set is "
        "kept as uint8 files in the user cache, memory-mapped and normalised batch by batch, with identical "
        f"results (default: half the physical memory, {format_size(default_max_memory())})",
    )
    if trains:
        group.add_argument(
            "--checkpoint-minutes",
            type=float,
            default=10.0,
            metavar="M",
            help="also checkpoint within an epoch at this interval; epochs always end with one (default: 10)",
        )
        group.add_argument(
            "--tensorboard", metavar="DIR",
            help="also write every epoch's metrics as TensorBoard event files under DIR (needs tensorboard; "
            "default: none)",
        )
    group.add_argument(
        "--if-running", choices=("wait", "stop"), default="wait",
        help="when another process is working on the same run: wait for it to finish (then this one resumes or "
        "skips), or stop with a one-line message (default: wait)",
    )
    group.add_argument("--json", action="store_true", help="print result.json on stdout (the table goes to stderr)")
    group.add_argument("--quiet", action="store_true", help="no progress lines")


def print_result(args: argparse.Namespace, table: str, result: Any) -> None:
    """The closing table on stdout, or with --json the table on stderr and the JSON on stdout."""
    print(table, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))


def session_from_args(args: argparse.Namespace) -> Session:
    """The execution options (device, threads, progress, checkpoint interval)."""
    import torch

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    minutes = getattr(args, "checkpoint_minutes", 0)
    tensorboard = getattr(args, "tensorboard", None)
    if tensorboard is not None:
        from ticketlab.runs.tensorboard import check_tensorboard

        check_tensorboard()
    max_memory = getattr(args, "max_memory", None)
    return Session(
        max_memory=default_max_memory() if max_memory is None else parse_memory(max_memory),
        device=resolve_device(args.device),
        log=(lambda _: None) if args.quiet else stderr,
        checkpoint_seconds=minutes * 60 if minutes > 0 else None,
        data_dir=args.data_dir,
        download=args.download,
        tensorboard=tensorboard,
        wait=args.if_running == "wait",
    )


UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def default_max_memory() -> int:
    """Half the physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def parse_memory(text: str) -> int:
    """Bytes of ``--max-memory``: a number with an optional K, M, G or T (powers of 1024)."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in UNITS else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise ConfigError(f"--max-memory must be a size such as 512M, 4G or a number of bytes, got '{text}'")
    return int(number * UNITS[unit])


def format_size(size: int) -> str:
    """``size`` bytes in the largest unit that keeps a number of at least 1 (e.g. 7.8G)."""
    for unit in ("T", "G", "M", "K"):
        if size >= UNITS[unit]:
            return f"{size / UNITS[unit]:.1f}{unit}"
    return str(size)


def resolve_device(name: str) -> str:
    """``auto`` becomes cuda when available; an unavailable cuda device is a ConfigError."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA device is available")
    if name != "cpu" and not name.startswith("cuda"):
        raise ConfigError(f"--device must be cpu, cuda, cuda:N or auto, got '{name}'")
    return name


def stderr(line: str) -> None:
    """Write a progress line to stderr."""
    print(line, file=sys.stderr, flush=True)
