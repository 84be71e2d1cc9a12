"""Training: optimizers, learning-rate schedules, masked and resumable training loops."""

from ticketlab.training.callbacks import Callback
from ticketlab.training.config import OPTIMIZERS, SCHEDULES, TrainConfig
from ticketlab.training.duration import Duration, parse_points
from ticketlab.training.evaluate import evaluate
from ticketlab.training.loop import Trainer
from ticketlab.training.masked import MaskEnforcer
from ticketlab.training.optim import build_optimizer
from ticketlab.training.schedule import learning_rate

__all__ = [
    "OPTIMIZERS",
    "Callback",
    "SCHEDULES",
    "Duration",
    "MaskEnforcer",
    "TrainConfig",
    "Trainer",
    "build_optimizer",
    "evaluate",
    "learning_rate",
    "parse_points",
]
