"""The model comes back exactly as it was; bad inputs raise ConfigError."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.masks import PrunableSpec, effective_mask, full_mask, uniform_random_mask
from ticketlab.models import build_model

HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_state_dict_hooks",
    "_load_state_dict_pre_hooks",
)


def snapshot(model: nn.Module) -> dict[str, object]:
    modules = dict(model.named_modules())
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "ids": {k: id(v) for k, v in model.state_dict(keep_vars=True).items()},
        "training": {n: m.training for n, m in modules.items()},
        "dict_keys": {n: sorted(m.__dict__) for n, m in modules.items()},
        "hooks": {n: {h: list(getattr(m, h).items()) for h in HOOK_DICTS} for n, m in modules.items()},
        "grads": {n: (None if p.grad is None else p.grad.clone()) for n, p in model.named_parameters()},
        "requires_grad": {n: p.requires_grad for n, p in model.named_parameters()},
        "forward": {n: m.forward for n, m in modules.items()},
    }


def assert_same(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("ids", "training", "dict_keys", "hooks", "requires_grad"):
        assert before[key] == after[key], key
    for name, value in before["state"].items():  # type: ignore[union-attr]
        assert torch.equal(value, after["state"][name]), name  # type: ignore[index]
    for name, grad in before["grads"].items():  # type: ignore[union-attr]
        other = after["grads"][name]  # type: ignore[index]
        assert (grad is None and other is None) or torch.equal(grad, other), name
    assert before["forward"].keys() == after["forward"].keys()  # type: ignore[union-attr]
    for name, bound in before["forward"].items():  # type: ignore[union-attr]
        assert bound == after["forward"][name], name  # type: ignore[index]


@pytest.mark.parametrize("name, training", [("resnet20", True), ("vgg11", False), ("mobilenetv2", True)])
def test_model_is_unchanged(name: str, training: bool) -> None:
    model = build_model(name, (3, 8, 8), 10, width=0.25)
    model.train(training)
    if name == "vgg11":
        model.conv1.eval()  # a mixed mode must survive as it is
    calls: list[str] = []
    model.register_forward_hook(lambda m, i, o: calls.append("hook"))
    with torch.no_grad():
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.5)
    mask = uniform_random_mask(full_mask(model, PrunableSpec("conv,linear,biases")), 0.5, torch.Generator().manual_seed(0))
    before = snapshot(model)
    rng = torch.get_rng_state()
    effective_mask(model, mask, (3, 8, 8))
    assert_same(before, snapshot(model))
    assert torch.equal(rng, torch.get_rng_state())
    assert calls == ["hook"]  # the caller's hook ran once, and is still registered
    assert torch.is_grad_enabled()


def test_model_is_unchanged_after_a_failure() -> None:
    model = build_model("resnet20", (3, 8, 8), 10, width=0.25)
    before = snapshot(model)
    with pytest.raises(ConfigError, match="cannot take inputs of shape"):
        effective_mask(model, full_mask(model), (5, 8, 8))
    assert_same(before, snapshot(model))


def test_an_instance_forward_of_the_caller_is_restored() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    own = model[1].forward
    model[1].forward = own  # an instance attribute, as some monkey-patching code leaves
    effective_mask(model, full_mask(model), (2,))
    assert model[1].__dict__["forward"] is own


def test_works_under_no_grad_and_inference_mode() -> None:
    model = build_model("lenet300", (1, 4, 4), 3, width=0.1)
    mask = full_mask(model)
    with torch.no_grad():
        a = effective_mask(model, mask, (1, 4, 4))
    with torch.inference_mode():
        b = effective_mask(model, mask, (1, 4, 4))
    for name in mask:
        assert a[name].all() and b[name].all()


def test_bad_inputs_raise_config_error() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))
    with pytest.raises(ConfigError, match="not the weight or bias"):
        effective_mask(model, {"1.weight": torch.ones(2, dtype=torch.bool)}, (2,))
    with pytest.raises(ConfigError, match="shape"):
        effective_mask(model, {"0.weight": torch.ones(3, 2, dtype=torch.bool)}, (2,))
    with pytest.raises(ConfigError, match="input shape"):
        effective_mask(model, full_mask(model), (0, 2))
    embedded = nn.Sequential(nn.Embedding(4, 2), nn.Linear(2, 1))
    with pytest.raises(ConfigError, match="cannot linearise module '0'"):
        effective_mask(embedded, {"1.weight": torch.ones(1, 2, dtype=torch.bool)}, (2,))
