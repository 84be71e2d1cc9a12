"""Canonical configs and run hashes: stable, default-insensitive, pinned."""

from __future__ import annotations

import dataclasses

import pytest

from ticketlab.config import (
    canonical_json,
    config_hash,
    from_dict,
    non_default_dict,
    to_dict,
)
from ticketlab.data.config import DataConfig
from ticketlab.errors import ConfigError
from ticketlab.masks.config import PrunableSpec
from ticketlab.models.config import ModelConfig
from ticketlab.runs import TrainRunConfig
from ticketlab.training.config import TrainConfig


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": [1, 2.5], "a": {"d": None, "c": "x"}}) == '{"a":{"c":"x","d":null},"b":[1,2.5]}'


def test_non_default_dict_keeps_only_changes() -> None:
    config = TrainRunConfig(model=ModelConfig(model="conv2"), sparsity=0.5)
    # lr is resolved from the optimizer, so it is always recorded explicitly.
    assert non_default_dict(config) == {"model": {"model": "conv2"}, "train": {"lr": 0.1}, "sparsity": 0.5}


def test_round_trip_through_dict() -> None:
    config = TrainRunConfig(
        data=DataConfig(dataset="synthetic", per_class=5, val=20),
        train=TrainConfig(duration="3it", schedule="step", lr_drops="1it,2it", optimizer="adam"),
        prunable=PrunableSpec("linear,conv,no-last"),
        sparsity=0.25,
        seed=4,
    )
    assert from_dict(TrainRunConfig, to_dict(config)) == config


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ConfigError, match="unknown TrainConfig field"):
        from_dict(TrainRunConfig, {"train": {"epochz": 3}})


def test_prunable_spec_is_canonicalised() -> None:
    assert PrunableSpec("no-last, linear,conv").prunable == "conv,linear,no-last"
    assert config_hash(TrainRunConfig(prunable=PrunableSpec("linear,conv")), "train") == config_hash(
        TrainRunConfig(), "train"
    )


def test_hash_ignores_field_order_and_depends_on_kind() -> None:
    a = TrainRunConfig(sparsity=0.5, seed=1)
    b = from_dict(TrainRunConfig, {"seed": 1, "sparsity": 0.5})
    assert config_hash(a, "train") == config_hash(b, "train")
    assert config_hash(a, "train") != config_hash(a, "other")


# Pinned: if one of these changes, existing run directories are orphaned. Change them
# only on purpose (and say so in the commit).
PINNED = {
    "default": (TrainRunConfig(), "687aabb699846f78"),
    "make-run": (
        TrainRunConfig(train=TrainConfig(duration="2ep"), sparsity=0.9),
        "ed117fdaf5ff56b2",
    ),
    "cifar": (
        TrainRunConfig(
            data=DataConfig(dataset="cifar10", augment="crop+flip", per_class=100, val=1000),
            model=ModelConfig(model="resnet18", init="kaiming-normal"),
            train=TrainConfig(duration="200ep", schedule="cosine", weight_decay=5e-4, batch_size=100),
            prunable=PrunableSpec("conv"),
            seed=2,
        ),
        "43059e44d65194f7",
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_hashes(name: str) -> None:
    config, expected = PINNED[name]
    assert config_hash(config, "train") == expected


def test_pinned_defaults() -> None:
    """A default changes the meaning of every hash that leaves it out: pin them all."""
    assert to_dict(TrainRunConfig()) == {
        "data": {
            "dataset": "fashion-mnist",
            "per_class": None,
            "val": 0,
            "subset_seed": 0,
            "augment": "none",
            "crop_padding": 4,
            "synthetic_shape": "1x28x28",
            "synthetic_classes": 10,
            "synthetic_train": 2000,
            "synthetic_test": 500,
            "image_size": None,
        },
        "model": {"model": "lenet300", "init": "default", "width": 1.0, "activation": "relu", "model_args": []},
        "train": {
            "duration": "10ep",
            "batch_size": 128,
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "nesterov": False,
            "weight_decay": 0.0,
            "schedule": "cosine",
            "lr_drops": "",
            "lr_drop_factor": 0.1,
            "eval_every": 1,
            "warmup": "0it",
            "precision": "fp32",
        },
        "prunable": {"prunable": "conv,linear"},
        "sparsity": None,
        "seed": 0,
    }


def test_every_field_has_help() -> None:
    for cls in (DataConfig, ModelConfig, TrainConfig, PrunableSpec, TrainRunConfig):
        for field in dataclasses.fields(cls):
            if not dataclasses.is_dataclass(field.type) and field.name not in ("data", "model", "train", "prunable"):
                assert field.metadata.get("help"), f"{cls.__name__}.{field.name} has no help"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TrainRunConfig(sparsity=1.0), "sparsity must be in"),
        (lambda: TrainRunConfig(sparsity=-0.1), "sparsity must be in"),
        (lambda: TrainConfig(duration="ten"), "12ep or 300it"),
        (lambda: TrainConfig(lr=-1.0), "--lr must be positive"),
        (lambda: TrainConfig(schedule="step"), "needs --lr-drops"),
        (lambda: TrainConfig(lr_drops="10ep"), "only applies to --schedule step"),
        (lambda: TrainConfig(optimizer="adam", nesterov=True), "--nesterov"),
        (lambda: TrainConfig(optimizer="rmsprop"), "--optimizer must be one of"),
        (lambda: DataConfig(augment="mixup"), "--augment must be one of"),
        (lambda: DataConfig(per_class=0), "--per-class"),
        (lambda: DataConfig(dataset="mnist", synthetic_classes=3), "only apply to --dataset synthetic"),
        (lambda: DataConfig(dataset="synthetic", synthetic_shape="3x32"), "CxHxW"),
        (lambda: PrunableSpec("conv,heads"), "unknown token"),
        (lambda: PrunableSpec("biases"), "at least one layer type"),
        (lambda: ModelConfig(width=0), "--width must be positive"),
    ],
)
def test_invalid_configs_raise_config_error(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        make()


def test_an_always_hashed_field_names_the_run_even_at_its_default() -> None:
    import dataclasses

    from ticketlab.config import option

    @dataclasses.dataclass(frozen=True)
    class Old:
        a: int = option(1, "a")

    @dataclasses.dataclass(frozen=True)
    class Quiet:
        a: int = option(1, "a")
        b: float = option(0.5, "b")

    @dataclasses.dataclass(frozen=True)
    class Loud:
        a: int = option(1, "a")
        b: float = option(0.5, "b", always_hashed=True)

    assert non_default_dict(Quiet()) == non_default_dict(Old()) == {}
    assert non_default_dict(Loud()) == {"b": 0.5}
    assert config_hash(Loud(), "k") != config_hash(Old(), "k") == config_hash(Quiet(), "k")
