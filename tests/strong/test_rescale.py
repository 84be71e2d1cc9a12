"""Rescaling a ReLU target before building it: the factors against hand-solved least squares,
the function unchanged, a starved entry reached, and a source drawn without the target."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ticketlab.strong.construct import construct
from ticketlab.strong.explain import explain
from ticketlab.strong.rescale import apply, balance
from ticketlab.strong.target import Affine, Fixed, Residual, run_ops, trace_target


def linear(name: str, out_features: int, in_features: int, seed: int) -> Affine:
    g = torch.Generator().manual_seed(seed)
    return Affine(name, torch.randn(out_features, in_features, generator=g, dtype=torch.float64),
                  torch.randn(out_features, generator=g, dtype=torch.float64))


def test_two_approximated_layers_split_the_difference() -> None:
    # t = log factor after layer a; layer a wants t = log 4, layer b (output pinned) wants
    # 0 - t = log 1: least squares gives t = log 2, so factors 2 and 1/2.
    ops = [linear("a", 3, 2, 0), Fixed(nn.ReLU()), linear("b", 2, 3, 1)]
    rescaling = balance(ops, {"a": 4.0, "b": 1.0})
    assert rescaling.weight["a"] == pytest.approx(2.0)
    assert rescaling.weight["b"] == pytest.approx(0.5)
    assert rescaling.bias == pytest.approx({"a": 2.0, "b": 1.0})
    assert rescaling.after_op == pytest.approx([2.0, 2.0, 1.0])


def test_a_bias_limits_its_layer_factor_only_when_exceeded() -> None:
    # One free log factor t: weight a wants t = log 4. A bias allowing up to 9 changes
    # nothing; one allowing up to 1 joins the least squares: t = (log 4 + log 1) / 2.
    ops = [linear("a", 3, 2, 0), Fixed(nn.ReLU()), linear("b", 2, 3, 1)]
    assert balance(ops, {"a": 4.0}, {"a": 9.0}).weight["a"] == pytest.approx(4.0)
    rescaling = balance(ops, {"a": 4.0}, {"a": 1.0})
    assert rescaling.weight["a"] == pytest.approx(2.0)
    assert rescaling.weight["b"] == pytest.approx(0.5)  # the kept last layer absorbs it


def test_a_kept_layer_absorbs_and_every_preference_is_met() -> None:
    ops = [linear("a", 4, 3, 0), Fixed(nn.ReLU()), linear("b", 4, 4, 1), Fixed(nn.ReLU()), linear("c", 2, 4, 2)]
    rescaling = balance(ops, {"a": 3.0, "b": 0.5})
    assert rescaling.weight == pytest.approx({"a": 3.0, "b": 0.5, "c": 1 / 1.5})
    assert rescaling.bias == pytest.approx({"a": 3.0, "b": 1.5, "c": 1.0})
    x = torch.randn(5, 3, dtype=torch.float64)
    assert torch.allclose(run_ops(apply(ops, rescaling), x), run_ops(ops, x), rtol=1e-12, atol=1e-12)


def test_both_sides_of_a_residual_addition_share_their_factor() -> None:
    block = Residual([linear("b1", 4, 4, 1), Fixed(nn.ReLU()), linear("b2", 4, 4, 2)], [], Fixed(nn.ReLU()))
    ops = [linear("stem", 4, 3, 0), Fixed(nn.ReLU()), block, linear("head", 2, 4, 3)]
    rescaling = balance(ops, {"stem": 2.0, "b1": 5.0, "b2": 5.0, "head": 1.0})
    # The identity shortcut ties the block's output to its input: b1 * b2 = 1, whatever they want.
    assert rescaling.weight["b1"] * rescaling.weight["b2"] == pytest.approx(1.0)
    # Unknowns s (stem), u (inside the branch): min (s - ln2)^2 + (u - s - ln5)^2 + (s - u - ln5)^2
    # + (-s)^2 -> u = s and s = ln2 / 2.
    assert rescaling.weight["stem"] == pytest.approx(math.sqrt(2.0))
    assert rescaling.weight["b1"] == pytest.approx(1.0)
    x = torch.randn(6, 3, dtype=torch.float64)
    assert torch.allclose(run_ops(apply(ops, rescaling), x), run_ops(ops, x), rtol=1e-12, atol=1e-12)


def starving_target(big: float) -> nn.Module:
    """A layer whose one large weight lies far outside what 10 candidates in [-1, 1] reach."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) * 0.6 - 0.3)
        model[1].weight[1, 2] = big
    return model


def test_an_entry_starved_under_the_old_drawing_is_now_reached() -> None:
    model = starving_target(40.0)
    old = construct(model, (3, 1, 1), construction="pensia", n=10, layers="1", rescale=0.0)
    new = construct(model, (3, 1, 1), construction="pensia", n=10, layers="1")
    (old_row,), (new_row,) = explain(old.approximations), explain(new.approximations)
    # Candidates are products of two uniforms: 10 of them sum to at most 10 in either
    # direction (in practice about 2), so 40 is out of reach without rescaling.
    assert old_row["outside"] >= 1 and old_row["worst"][0]["index"] == [1, 2]
    assert old.approximations[0].relative_weight_error > 0.5
    assert new_row["outside"] == 0
    assert new.approximations[0].relative_weight_error < 1e-2
    # Errors stay in the target's coordinates: the record holds the trained weight itself.
    assert torch.equal(new.approximations[0].weight, model[1].weight.detach())
    x = torch.rand(64, 3, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(new.ticket()(x), model(x), rtol=0, atol=1e-2 * float(model(x).abs().max()))


def test_the_source_is_drawn_without_looking_at_the_target() -> None:
    first, second = starving_target(40.0), starving_target(-0.01)
    with torch.no_grad():
        second[3].weight.mul_(-3.0)
    a = construct(first, (3, 1, 1), construction="cunha", n=8, seed=3)
    b = construct(second, (3, 1, 1), construction="cunha", n=8, seed=3)
    assert a.rescaling is not None and b.rescaling is not None and a.rescaling.weight != b.rescaling.weight
    sa, sb = a.source.state_dict(), b.source.state_dict()
    random = [name for name in sa if name.split(".")[0] in ("1", "3")]  # the two replaced layers
    assert random and all(torch.equal(sa[name], sb[name]) for name in random)
    assert not all(torch.equal(a.mask[name], b.mask[name]) for name in a.mask)


@pytest.mark.parametrize("construction", ["cunha", "burkholz-2l", "burkholz-l1"])
def test_the_ticket_still_computes_the_target_function(construction: str) -> None:
    model = starving_target(6.0)
    built = construct(model, (3, 1, 1), construction=construction, n=12)
    assert built.rescaling is not None and built.rescaling.after_op[-1] == 1.0
    x = torch.rand(64, 3, dtype=torch.float64)
    with torch.no_grad():
        scale = float(model(x).abs().max())
        assert float((built.ticket()(x) - model(x)).abs().max()) < 0.05 * scale


def test_tanh_targets_are_built_as_trained() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    built = construct(model, (3, 1, 1), construction="burkholz-2l", n=8)
    assert built.rescaling is None


def test_apply_keeps_a_traced_cnn_exact() -> None:
    from ticketlab.models import build_model

    model = build_model("lenet5", (1, 28, 28), 10).double().eval()
    ops = trace_target(model)
    rescaling = balance(ops, {"conv1": 3.0, "conv2": 0.2, "fc2": 7.0})
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    assert torch.allclose(run_ops(apply(ops, rescaling), x), model(x), rtol=1e-10, atol=1e-12)
