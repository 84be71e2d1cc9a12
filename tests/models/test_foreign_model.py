"""Your own model: factory specs, --model-arg typing, hashes, --prunable patterns, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ticketlab.config import config_hash
from ticketlab.errors import ConfigError
from ticketlab.masks import PrunableSpec, prunable_parameters
from ticketlab.models import ModelConfig, build_from_config, build_model, factory_spec
from ticketlab.models.foreign import canonical_model_args, load_factory, parse_value
from ticketlab.runs import TrainRunConfig

SOURCE = '''
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, channels: int, h: int, w: int, num_classes: int, hidden: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        )
        self.classifier = nn.Linear(hidden * (h // 2) * (w // 2), num_classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def small_cnn(input_shape, num_classes, hidden=4):
    c, h, w = input_shape
    return SmallCNN(c, h, w, num_classes, hidden)


def fixed():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


def raises(num_classes):
    raise ValueError("no good")


def not_a_module(input_shape):
    return 42
'''


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "mymodels.py"
    path.write_text(SOURCE)
    return f"{path.resolve()}:small_cnn"


def module_names(spec_text: str, prunable: str, **kwargs: object) -> set[str]:
    model = build_model(spec_text, (1, 8, 8), 10, **kwargs)  # type: ignore[arg-type]
    return set(prunable_parameters(model, PrunableSpec(prunable)))


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e3", 1000.0), ("True", True), ("False", False),
    ("'7'", "7"), ('"x y"', "x y"), ("hello", "hello"), ("", ""), ("a.b", "a.b"),
])
def test_model_arg_values_are_typed(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_model_args_are_canonical_and_sorted() -> None:
    given = ["width=1.50", "depth=2", "name=tiny", "flag=True", "code='3'"]
    assert canonical_model_args(given) == ("code='3'", "depth=2", "flag=True", "name=tiny", "width=1.5")
    assert canonical_model_args({"depth": 2, "name": "3"}) == ("depth=2", "name='3'")
    assert ModelConfig(model="m:f", model_args=("b=1", "a=2")).model_args == ("a=2", "b=1")
    assert ModelConfig(model="m:f", model_args="a=2").model_args == ("a=2",)


@pytest.mark.parametrize(("args", "fragment"), [
    (["depth"], "expected key=value"),
    (["depth=1", "depth=2"], "given twice"),
    (["num_classes=3"], "passes num_classes itself"),
    (["1x=2"], "Python identifier"),
    (["shape=[1, 2]"], "only ints, floats, bools and strings"),
])
def test_bad_model_args(args: list[str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        canonical_model_args(args)


def test_factory_gets_shape_classes_and_args_by_name(spec: str) -> None:
    model = build_from_config(ModelConfig(model=spec, model_args=("hidden=3",)), (2, 8, 8), 5, seed=0)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    # 3x3 convs of 2->3 and 3->3 channels, then 3 * 4 * 4 = 48 features -> 5 classes, by hand.
    assert shapes == {"features.0.weight": (3, 2, 3, 3), "features.0.bias": (3,), "features.2.weight": (3, 3, 3, 3),
                      "features.2.bias": (3,), "classifier.weight": (5, 48), "classifier.bias": (5,)}
    assert model.training
    fixed = build_model(spec.replace("small_cnn", "fixed"), (1, 8, 8), 10)  # takes neither: still built
    assert tuple(fixed[1].weight.shape) == (3, 64)


def test_seed_and_init_apply_to_foreign_models(spec: str) -> None:
    a = build_from_config(ModelConfig(model=spec), (1, 8, 8), 10, seed=3)
    b = build_from_config(ModelConfig(model=spec), (1, 8, 8), 10, seed=3)
    c = build_from_config(ModelConfig(model=spec), (1, 8, 8), 10, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    kaiming = build_from_config(ModelConfig(model=spec, init="kaiming-normal"), (1, 8, 8), 10, seed=3)
    assert all(float(m.bias.detach().abs().sum()) == 0.0 for m in kaiming.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def test_hash_covers_spec_and_args(spec: str) -> None:
    def run_hash(model: ModelConfig) -> str:
        return config_hash(TrainRunConfig(model=model), "train")

    base = run_hash(ModelConfig(model=spec))
    assert run_hash(ModelConfig()) == config_hash(TrainRunConfig(), "train")  # an empty tuple is the default
    assert base != run_hash(ModelConfig(model=spec.replace("small_cnn", "fixed")))
    assert base != run_hash(ModelConfig(model=spec, model_args=("hidden=3",)))
    assert run_hash(ModelConfig(model=spec, model_args=("hidden=3",))) != run_hash(
        ModelConfig(model=spec, model_args=("hidden=4",)))
    assert run_hash(ModelConfig(model=spec, model_args=("hidden=3", "a=1"))) == run_hash(
        ModelConfig(model=spec, model_args=("a=1", "hidden=3")))


@pytest.mark.parametrize(("prunable", "kept"), [
    ("conv,linear", {"features.0.weight", "features.2.weight", "classifier.weight"}),
    ("features.*", {"features.0.weight", "features.2.weight"}),
    ("!classifier", {"features.0.weight", "features.2.weight"}),
    ("features.*,no-first", {"features.2.weight"}),
    ("conv,!features.0", {"features.2.weight"}),
    ("linear,biases,classifier*", {"classifier.weight", "classifier.bias"}),
    ("!features.2,no-last", {"features.0.weight"}),
    ("features.?,!*.0,biases", {"features.2.weight", "features.2.bias"}),
])
def test_prunable_patterns_select_modules(spec: str, prunable: str, kept: set[str]) -> None:
    assert module_names(spec, prunable) == kept


def test_prunable_patterns_are_canonical() -> None:
    assert PrunableSpec("!classifier,features.*,no-last").prunable == "conv,linear,no-last,features.*,!classifier"
    assert PrunableSpec("linear,b.*,a.*").prunable == "linear,a.*,b.*"
    assert PrunableSpec("linear,conv").prunable == "conv,linear"  # old specs keep their text, so their hashes
    with pytest.raises(ConfigError, match="unknown token"):
        PrunableSpec("conv,heads")


def test_patterns_that_leave_nothing_are_one_line_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"leaves no parameter to prune"):
        module_names(spec, "linear,features.*")


@pytest.mark.parametrize(("attribute", "fragment"), [
    ("raises", "the factory raised ValueError: no good"),
    ("not_a_module", "the factory returned int, not an nn.Module"),
    ("missing", "has no attribute 'missing'"),
])
def test_factory_errors_name_the_spec(spec: str, attribute: str, fragment: str) -> None:
    bad = spec.replace("small_cnn", attribute)
    with pytest.raises(ConfigError) as info:
        build_model(bad, (1, 8, 8), 10)
    assert fragment in str(info.value) and bad in str(info.value) and "\n" not in str(info.value)


def test_config_errors(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_factory(f"{tmp_path}/absent.py:f")
    with pytest.raises(ConfigError, match="cannot import"):
        load_factory("ticketlab_no_such_module:f")
    with pytest.raises(ConfigError, match="has no parameter 'depth'"):
        build_from_config(ModelConfig(model=spec, model_args=("depth=2",)), (1, 8, 8), 10, seed=0)
    with pytest.raises(ConfigError, match="--width applies to registered models only"):
        ModelConfig(model=spec, width=2.0)
    with pytest.raises(ConfigError, match="--activation applies to registered models only"):
        ModelConfig(model=spec, activation="tanh")
    with pytest.raises(ConfigError, match="--model-arg is for"):
        ModelConfig(model="lenet300", model_args=("a=1",))


def module_level_factory(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """A factory importable by module name (this test module)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(input_shape[0] * input_shape[1] * input_shape[2], num_classes))


def test_factory_spec_names_a_callable_for_python_use(spec: str) -> None:
    name = factory_spec(module_level_factory)
    assert name == f"{module_level_factory.__module__}:module_level_factory"
    assert load_factory(name) is module_level_factory
    model = build_from_config(ModelConfig(model=name), (1, 2, 3), 4, seed=0)
    assert tuple(model[1].weight.shape) == (4, 6)
    from_file = load_factory(spec)
    assert factory_spec(from_file) == spec  # a factory loaded from a file is named by its path

    def local() -> nn.Module:
        return nn.Linear(1, 1)

    with pytest.raises(ConfigError, match="module level"):
        factory_spec(local)
