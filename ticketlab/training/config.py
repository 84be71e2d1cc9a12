"""The training options shared by every command that trains."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import check_choice, option
from ticketlab.errors import ConfigError
from ticketlab.training.duration import Duration, parse_points

OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("constant", "step", "cosine")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.001}


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, learning-rate schedule, batch size and training length."""

    duration: str = option(
        "10ep",
        "training length, Nep (epochs) or Nit (optimizer steps); 0 only evaluates the model",
        cli=False,
    )
    batch_size: int = option(128, "training examples per optimizer step", metavar="B")
    optimizer: str = option("sgd", "optimizer", choices=OPTIMIZERS)
    lr: float | None = option(
        None, "base learning rate (default: 0.1 for sgd, 0.001 for adam)", metavar="LR"
    )
    momentum: float = option(0.9, "SGD momentum (0: plain SGD); ignored by adam", metavar="M")
    nesterov: bool = option(False, "Nesterov momentum (sgd only)")
    weight_decay: float = option(0.0, "L2 weight decay coefficient", metavar="WD")
    schedule: str = option(
        "cosine",
        "learning-rate schedule: constant; step (multiply by --lr-drop-factor at each of "
        "--lr-drops); cosine (from LR to 0 over the whole run)",
        choices=SCHEDULES,
    )
    lr_drops: str = option(
        "",
        "comma list of points where the step schedule drops the rate, each Nep or Nit "
        "(a bare number means epochs), e.g. 80ep,120ep",
        metavar="POINTS",
    )
    lr_drop_factor: float = option(0.1, "factor applied at every step-schedule drop", metavar="F")
    eval_every: int = option(
        1,
        "evaluate on the validation and test sets every N epochs and after the last; "
        "model selection sees only those epochs",
        metavar="N",
    )
    warmup: str = option(
        "0it", "linear warmup from 0 to LR over this many Nep or Nit at the start", metavar="LENGTH"
    )
    precision: str = option(
        "fp32",
        "arithmetic of the training forward pass: fp32, or mixed precision with bf16 (CPU or GPU) or fp16 "
        "(CUDA only, with loss scaling); weights, optimizer and evaluation stay fp32",
        choices=PRECISIONS,
    )

    def __post_init__(self) -> None:
        check_choice(self.optimizer, "--optimizer", OPTIMIZERS)
        check_choice(self.precision, "--precision", PRECISIONS)
        check_choice(self.schedule, "--schedule", SCHEDULES)
        Duration.parse(self.duration, "training length")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.optimizer])
        assert self.lr is not None
        if not self.lr > 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"--momentum must be in [0, 1), got {self.momentum}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ConfigError("--nesterov needs --optimizer sgd and a nonzero --momentum")
        if self.weight_decay < 0:
            raise ConfigError(f"--weight-decay must be 0 or more, got {self.weight_decay}")
        drops = parse_points(self.lr_drops, "--lr-drops")
        if self.schedule == "step" and not drops:
            raise ConfigError("--schedule step needs --lr-drops (e.g. 80ep,120ep)")
        if self.schedule != "step" and drops:
            raise ConfigError(f"--lr-drops only applies to --schedule step, not {self.schedule}")
        if not 0 < self.lr_drop_factor <= 1:
            raise ConfigError(f"--lr-drop-factor must be in (0, 1], got {self.lr_drop_factor}")
        Duration.parse(self.warmup, "--warmup")
        if self.eval_every < 1:
            raise ConfigError(f"--eval-every must be at least 1, got {self.eval_every}")

    @property
    def length(self) -> Duration:
        """The training length, parsed."""
        return Duration.parse(self.duration)
