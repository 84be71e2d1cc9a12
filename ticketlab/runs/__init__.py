"""Runs: typed configs, hashed self-describing directories, resumable execution."""

from ticketlab.runs.config import TrainRunConfig, check_sparsity
from ticketlab.runs.execute import Session
from ticketlab.runs.store import RunDirectory, load_config, read_json
from ticketlab.runs.train_run import run_train

__all__ = ["RunDirectory", "Session", "TrainRunConfig", "check_sparsity", "load_config", "read_json", "run_train"]
