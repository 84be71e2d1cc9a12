"""A run config from flat option values: what the command line and sweep files both give.

Options are named by their config's leaf fields (``lr``, ``quota``, ``levels``: dashes or
underscores), plus three that stand for a field: ``epochs`` and ``iterations`` (the
training length) and ``compression`` (``sparsity`` = 1 - 1/compression).
"""

from __future__ import annotations

from typing import Any, TypeVar

from ticketlab.config import from_dict, leaf_fields, nest_values
from ticketlab.errors import ConfigError

C = TypeVar("C")

def config_from_values(cls: type[C], values: dict[str, Any]) -> C:
    """``cls`` from flat option values; ``None`` for epochs/iterations means "not given"."""
    values = {k.replace("-", "_"): v for k, v in values.items()}
    epochs, iterations = values.pop("epochs", None), values.pop("iterations", None)
    if epochs is not None and iterations is not None:
        raise ConfigError("give epochs or iterations, not both")
    duration = None
    if iterations is not None:
        if int(iterations) < 1:
            raise ConfigError(f"--iterations must be at least 1, got {iterations}")
        duration = f"{int(iterations)}it"
    elif epochs is not None:
        if int(epochs) < 0:
            raise ConfigError(f"--epochs must be 0 (evaluate only) or more, got {epochs}")
        duration = f"{int(epochs)}ep"
    if "compression" in values:
        if "sparsity" not in leaf_fields(cls):
            raise ConfigError(f"compression needs a run with a sparsity option; {getattr(cls, 'kind', cls.__name__)} "
                              "runs have none")
        compression = float(values.pop("compression"))
        if compression < 1:
            raise ConfigError(f"compression must be at least 1, got {compression}")
        values["sparsity"] = 1.0 - 1.0 / compression
    nested = nest_values(cls, values)
    if duration is not None:
        if not trains(cls):
            raise ConfigError(f"{getattr(cls, 'kind', cls.__name__)} runs do not train: no epochs or iterations")
        nested.setdefault("train", {})["duration"] = duration
    return from_dict(cls, nested)


def trains(cls: type) -> bool:
    """Whether configs of ``cls`` have a training block (a ``train`` field)."""
    import dataclasses

    return any(f.name == "train" for f in dataclasses.fields(cls))
