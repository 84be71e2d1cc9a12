"""Model architectures, their registry, initialisations and the ``build_model`` entry point."""

from __future__ import annotations

from ticketlab.models.build import build_from_config, build_model, count_parameters
from ticketlab.models.config import ModelConfig
from ticketlab.models.foreign import factory_spec
from ticketlab.models.init import INITS
from ticketlab.models.registry import MODELS

__all__ = ["INITS", "MODELS", "ModelConfig", "build_from_config", "build_model", "count_parameters", "factory_spec"]
