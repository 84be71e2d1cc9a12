"""The data options shared by every command that trains."""

from __future__ import annotations

from dataclasses import dataclass

from ticketlab.config import check_choice, option
from ticketlab.data.spec import SPEC_HELP, parse_dims, parse_size, parse_spec
from ticketlab.errors import ConfigError

AUGMENTATIONS = ("none", "flip", "crop", "crop+flip")


def _dataset_names() -> list[str]:
    from ticketlab.data.registry import DATASETS

    return DATASETS.names()


@dataclass(frozen=True)
class DataConfig:
    """Which data set, which part of it, and how it is augmented."""

    dataset: str = option(
        "fashion-mnist",
        f"data set to train and test on: a registered name (ticketlab datasets), or your own: {SPEC_HELP}. npz images are "
        "uint8 0..255 or float 0..1 (rounded to 256 levels), (N, H, W) grey, NHWC when the last "
        "axis is 1 or 3 and the second is not, else NCHW; labels are integers 0..K-1, K = the "
        "largest training label + 1. Folder images are grey when all are 1-bit, L or LA, else "
        "RGB; classes are the sub-folder names, sorted; test/ (else val/) is the test split",
        choices=_dataset_names,
        strict=False,
        metavar="NAME|npz:FILE|folder:PATH",
    )
    per_class: int | None = option(
        None,
        "training examples per class: a class-stratified subset drawn with --subset-seed "
        "(the low-data regime); default: the whole training set",
        metavar="N",
    )
    val: int = option(
        0,
        "validation examples held out of the training set (class-stratified, drawn with "
        "--subset-seed before --per-class); 0: no validation split",
        metavar="N",
    )
    subset_seed: int = option(
        0,
        "seed of the validation split and the per-class subset, kept apart from --seed so "
        "that several training seeds can share one subset",
        metavar="N",
    )
    augment: str = option(
        "none",
        "augmentation of training batches: horizontal flip, random crop with zero padding, or both",
        choices=AUGMENTATIONS,
    )
    crop_padding: int = option(4, "zero padding in pixels for --augment crop", metavar="PIXELS")
    synthetic_shape: str = option(
        "1x28x28", "image shape CxHxW of the synthetic data set", metavar="CxHxW"
    )
    synthetic_classes: int = option(10, "class count of the synthetic data set", metavar="K")
    synthetic_train: int = option(2000, "training examples of the synthetic data set", metavar="N")
    synthetic_test: int = option(500, "test examples of the synthetic data set", metavar="N")
    image_size: str | None = option(
        None,
        "resize the images of a folder: data set to HxW pixels (bilinear); default: their "
        "common size (images of different sizes are then an error)",
        metavar="HxW",
    )

    def __post_init__(self) -> None:
        check_choice(self.augment, "--augment", AUGMENTATIONS)
        if self.per_class is not None and self.per_class < 1:
            raise ConfigError(f"--per-class must be at least 1, got {self.per_class}")
        if self.val < 0:
            raise ConfigError(f"--val must be 0 or more, got {self.val}")
        if self.crop_padding < 0:
            raise ConfigError(f"--crop-padding must be 0 or more, got {self.crop_padding}")
        spec = parse_spec(self.dataset)
        if self.image_size is not None:
            parse_size(self.image_size)
            if spec is None or spec[0] != "folder":
                raise ConfigError(f"--image-size only applies to --dataset folder:PATH, not '{self.dataset}'")
        synthetic_fields = ("synthetic_shape", "synthetic_classes", "synthetic_train", "synthetic_test")
        if self.dataset != "synthetic":
            defaults = DataConfig.__dataclass_fields__
            changed = [f for f in synthetic_fields if getattr(self, f) != defaults[f].default]
            if changed:
                flags = ", ".join("--" + f.replace("_", "-") for f in changed)
                raise ConfigError(f"{flags} only apply to --dataset synthetic, not '{self.dataset}'")
        parse_shape(self.synthetic_shape)
        if self.synthetic_classes < 2:
            raise ConfigError(f"--synthetic-classes must be at least 2, got {self.synthetic_classes}")
        if self.synthetic_train < 1 or self.synthetic_test < 1:
            raise ConfigError("--synthetic-train and --synthetic-test must be at least 1")


def parse_shape(text: str) -> tuple[int, int, int]:
    """Parse ``"CxHxW"`` into a (channels, height, width) tuple of positive ints."""
    return parse_dims(text, 3, "image shape must look like 3x32x32 (CxHxW, positive)")  # type: ignore[return-value]
