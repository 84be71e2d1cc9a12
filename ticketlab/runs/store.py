"""Run directories: ``config.json``, ``metrics.jsonl``, checkpoints, ``result.json``.

A directory is named ``<kind>-<hash>`` after :func:`ticketlab.config.config_hash`.
``result.json`` is written last and atomically: its presence marks the run complete.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ticketlab.atomic import atomic_torch_save, atomic_write_json, atomic_write_text
from ticketlab.config import config_hash, from_dict, to_dict
from ticketlab.errors import CheckpointError, ConfigError
from ticketlab.models.foreign import is_foreign, source_record

CHECKPOINT_FORMAT = "ticketlab-checkpoint/1"


class RunDirectory:
    """The files of one run, named by the hash of its config."""

    def __init__(self, root: str | Path, config: Any) -> None:
        self.kind: str = type(config).kind
        self.config = config
        self.hash = config_hash(config, self.kind)
        self.path = (Path(root) / f"{self.kind}-{self.hash}").absolute()
        self.parent: RunDirectory | None = None

    def child(self, name: str) -> RunDirectory:
        """A sub-directory holding one part of this run (a level, a branch).

        It shares the run's config and hash (so its checkpoints are tagged with them) but
        has no config.json of its own: the parent's describes it.
        """
        sub = copy.copy(self)
        sub.path = self.path / name
        sub.parent = self
        return sub

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def result_path(self) -> Path:
        return self.path / "result.json"

    def file(self, name: str) -> Path:
        """Path of a file inside the run directory."""
        return self.path / name

    def config_record(self) -> dict[str, Any]:
        """The content of ``config.json``: the kind, the hash and every field.

        A run of your own model (``--model module:factory``) also records ``model_source``,
        the path and sha256 of the factory's source file: not part of the hash, but a
        changed file is visible there and stops an unfinished run from resuming.
        """
        record: dict[str, Any] = {"kind": self.kind, "hash": self.hash, "config": to_dict(self.config)}
        model = getattr(self.config, "model", None)
        spec = getattr(model, "model", None)
        if isinstance(spec, str) and is_foreign(spec):
            record["model_source"] = source_record(spec)
        return record

    def prepare(self) -> None:
        """Create the directory and write ``config.json``, or check the one already there."""
        if self.parent is not None:
            self.parent.prepare()
            self.path.mkdir(parents=True, exist_ok=True)
            return
        self.path.mkdir(parents=True, exist_ok=True)
        if self.config_path.exists():
            found = read_json(self.config_path)
            record = json.loads(json.dumps(self.config_record()))
            if found == record:
                return
            self._check_model_source(found, record)
            if not self._same_run_older_version(found):
                raise ConfigError(
                    f"{self.config_path} describes a different run; move that directory away"
                )
            atomic_write_json(self.config_path, self.config_record())
            return
        atomic_write_json(self.config_path, self.config_record())

    def _check_model_source(self, found: Any, record: dict[str, Any]) -> None:
        """A one-line error when the run was started with another version of its model's source."""
        before = found.get("model_source") if isinstance(found, dict) else None
        now = record.get("model_source")
        if isinstance(before, dict) and now is not None and before.get("sha256") != now.get("sha256"):
            raise ConfigError(
                f"{now.get('path')} changed since {self.path} was started (sha256 {str(before.get('sha256'))[:12]} "
                f"-> {str(now.get('sha256'))[:12]}); restore it or move that directory away"
            )

    def _same_run_older_version(self, found: Any) -> bool:
        """True when ``found`` is this run's config written before some fields existed.

        Fields added later take their defaults, which the hash leaves out, so a run
        started by an older ticketlab resumes under the same name.
        """
        if not isinstance(found, dict) or found.get("kind") != self.kind or found.get("hash") != self.hash:
            return False
        try:
            return from_dict(type(self.config), found.get("config")) == self.config
        except (ConfigError, TypeError):
            return False

    def is_complete(self) -> bool:
        """True when ``result.json`` exists (it is always written last, atomically)."""
        return self.result_path.exists()

    def read_result(self) -> dict[str, Any]:
        """The parsed ``result.json``."""
        return read_json(self.result_path)

    def write_result(self, result: dict[str, Any]) -> None:
        """Write ``result.json``, which marks the run complete."""
        atomic_write_json(self.result_path, json_safe(result))

    def read_json_file(self, name: str) -> Any:
        """Parse a JSON file of the run directory."""
        return read_json(self.file(name))

    def write_json_file(self, name: str, obj: Any) -> None:
        """Write a JSON file into the run directory atomically."""
        atomic_write_json(self.file(name), json_safe(obj))

    def write_metrics(self, history: list[dict[str, Any]], name: str = "metrics.jsonl") -> None:
        """Rewrite a metrics file from a history (drops lines a kill left behind)."""
        text = "".join(json.dumps(json_safe(m), sort_keys=True) + "\n" for m in history)
        atomic_write_text(self.file(name), text)

    def append_metrics(self, metrics: dict[str, Any], name: str = "metrics.jsonl") -> None:
        """Append one line to a metrics file."""
        with open(self.file(name), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(json_safe(metrics), sort_keys=True) + "\n")

    def save_checkpoint(self, state: dict[str, Any], name: str = "checkpoint.pt") -> None:
        """Write a checkpoint atomically, tagged with this run's hash."""
        payload = {"format": CHECKPOINT_FORMAT, "hash": self.hash, "state": state}
        atomic_torch_save(self.file(name), payload)

    def load_checkpoint(self, name: str = "checkpoint.pt") -> dict[str, Any] | None:
        """The state saved by :meth:`save_checkpoint`, or None when there is none."""
        path = self.file(name)
        if not path.exists():
            return None
        payload = load_torch_file(path)
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path} is not a ticketlab checkpoint; delete it to restart the run")
        if payload.get("hash") != self.hash:
            raise CheckpointError(f"{path} belongs to another run; delete it to restart the run")
        return payload["state"]


def load_torch_file(path: Path) -> Any:
    """``torch.load`` (tensors and plain containers only), with corrupt files as one-line errors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(
            f"{path} is truncated or corrupt ({reason}); delete it to restart the run"
        ) from None


def read_json(path: Path) -> Any:
    """Parse a JSON file; unreadable or invalid JSON raises a one-line :class:`CheckpointError`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is unreadable or not valid JSON ({exc})") from None


def load_config(path: str | Path, cls: type) -> Any:
    """The config stored in a run directory's ``config.json`` (or that file itself)."""
    path = Path(path)
    record = read_json(path / "config.json" if path.is_dir() else path)
    if not isinstance(record, dict) or record.get("kind") != cls.kind or "config" not in record:
        raise ConfigError(f"{path} is not the config of a '{cls.kind}' run")
    return from_dict(cls, record["config"])


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
