"""Strong-ticket constructions: the ticket's forward pass against the target's."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ticketlab.errors import ConfigError
from ticketlab.models import build_model
from ticketlab.strong.construct import construct
from ticketlab.strong.target import run_ops, trace_target


def target(name: str, shape: tuple[int, int, int], width: float, activation: str = "relu", seed: int = 0) -> nn.Module:
    model = build_model(name, shape, 4, seed=seed, width=width, activation=activation)
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():  # BatchNorm statistics of a trained net, so folding matters
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(torch.rand(module.num_features, generator=g) - 0.5)
            module.running_var.copy_(torch.rand(module.num_features, generator=g) + 0.5)
            module.weight.data.copy_(torch.rand(module.num_features, generator=g) + 0.5)
            module.bias.data.copy_(torch.rand(module.num_features, generator=g) * 0.4 - 0.2)
    return model.eval().double()


def relative_error(model: nn.Module, ticket: nn.Module, shape: tuple[int, int, int]) -> float:
    x = torch.randn(32, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        ref, got = model(x), ticket(x)
    return float((ref - got).abs().max() / ref.abs().max())


@pytest.mark.parametrize("name, shape", [("lenet5", (1, 12, 12)), ("lenet300", (1, 6, 6)), ("resnet20", (3, 8, 8)),
                                         ("cnn3", (1, 8, 8)), ("conv2", (3, 6, 6))])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_trace_computes_what_the_model_computes(name: str, shape: tuple, activation: str) -> None:
    model = target(name, shape, 0.25, activation)
    x = torch.randn(4, *shape, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(run_ops(trace_target(model), x), model(x), rtol=0, atol=1e-12)


# (model, shape, width, activation, construction, n, tolerance on the max relative output error)
CASES = [
    ("lenet5", (1, 12, 12), 0.5, "relu", "cunha", 20, 1e-2),
    ("lenet5", (1, 12, 12), 0.5, "leaky-relu", "cunha", 20, 1e-2),
    ("resnet20", (3, 8, 8), 0.25, "relu", "cunha", 16, 1e-2),
    ("lenet300", (1, 6, 6), 0.05, "relu", "pensia", 20, 1e-3),
    ("lenet5", (1, 12, 12), 0.5, "tanh", "burkholz-2l", 24, 1e-2),
    ("resnet20", (3, 8, 8), 0.25, "relu", "burkholz-2l", 24, 0.15),
    ("cnn3", (1, 8, 8), 0.25, "relu", "burkholz-l1", 24, 0.05),
]


@pytest.mark.parametrize("name, shape, width, activation, construction, n, tolerance", CASES)
def test_ticket_approximates_the_target(name: str, shape: tuple, width: float, activation: str, construction: str,
                                        n: int, tolerance: float) -> None:
    model = target(name, shape, width, activation)
    built = construct(model, shape, construction=construction, n=n)
    assert relative_error(model, built.ticket(), shape) < tolerance
    # The ticket is the random source under a mask: every kept weight is a source weight.
    params = dict(built.source.named_parameters())
    assert set(built.mask) <= set(params)
    assert 0 < built.ticket_nonzeros < built.random_parameters


def test_error_shrinks_as_n_grows() -> None:
    model = target("lenet5", (1, 12, 12), 0.5)
    errors = [relative_error(model, construct(model, (1, 12, 12), construction="cunha", n=n).ticket(), (1, 12, 12))
              for n in (6, 12, 20)]
    assert errors[0] > 5 * errors[1] > 50 * errors[2]


def test_single_layer_error_bound_holds_at_every_pixel_border_included() -> None:
    """|f - f_hat| <= max weight error * sum of |x| over the receptive field + max bias error.

    The bias is large, so a bias that reached border pixels through a padding-reading tap
    would break the bound exactly there.
    """
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    with torch.no_grad():
        conv.bias.copy_(torch.tensor([1.5, -2.0, 0.7]))
    model = nn.Sequential(conv).eval()
    built = construct(model, (2, 5, 5), construction="cunha", n=16)
    record = built.approximations[0]
    weight = conv.weight.detach()
    weight_error = max(float((e - weight).abs().max()) for e in record.weight_estimates)
    bias_error = max(float((e - conv.bias.detach()).abs().max()) for e in record.bias_estimates)
    x = torch.randn(16, 2, 5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        error = (model(x) - built.ticket()(x)).abs()
    reach = nn.functional.conv2d(x.abs(), torch.ones(3, 2, 3, 3, dtype=torch.float64), padding=1)
    # Signed inputs use two parts (relu(x) and relu(-x)), each within weight_error.
    assert torch.all(error <= weight_error * reach + bias_error + 1e-12)
    assert weight_error < 0.02


def test_mask_bookkeeping_matches_the_estimates() -> None:
    """Recompute each target weight's approximation from the ticket's own parameters."""
    layer = nn.Linear(3, 2).double()
    model = nn.Sequential(nn.ReLU(), layer).eval()  # the input of the layer is >= 0: one part
    built = construct(model, (1, 1, 3), construction="cunha", n=8)
    ticket = built.ticket()
    expand, combine = ticket[1][0], ticket[1][2]
    n = 8
    for o in range(2):
        for i in range(3):
            copies = range(i * n, (i + 1) * n)
            total = sum(float(combine.weight[o, c] * expand.weight[c, i]) for c in copies)
            assert total == pytest.approx(float(built.approximations[0].weight_estimates[0][o, i]), abs=1e-12)


def test_source_weights_do_not_depend_on_the_target() -> None:
    a = construct(target("lenet5", (1, 12, 12), 0.5, seed=1), (1, 12, 12), construction="cunha", n=6, seed=3)
    b = construct(target("lenet5", (1, 12, 12), 0.5, seed=2), (1, 12, 12), construction="cunha", n=6, seed=3)
    for (name, x), y in zip(a.source.state_dict().items(), b.source.state_dict().values()):
        if name in a.mask:  # the random layers; the others keep each target's trained weights
            assert torch.equal(x, y), name
    assert any(not torch.equal(a.mask[k], b.mask[k]) for k in a.mask)


def test_sparse_targets_give_sparser_tickets() -> None:
    model = target("lenet300", (1, 6, 6), 0.1)
    dense = construct(model, (1, 6, 6), construction="pensia", n=10)
    with torch.no_grad():
        for layer in (model.fc1, model.fc2):
            layer.weight[torch.rand(layer.weight.shape, generator=torch.Generator().manual_seed(0)) < 0.8] = 0.0
    sparse = construct(model, (1, 6, 6), construction="pensia", n=10)
    assert sparse.ticket_nonzeros < 0.5 * dense.ticket_nonzeros


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda: target("cnn3", (1, 8, 8), 0.25, "sigmoid"), {"construction": "burkholz-l1"}, "not sigmoid"),
        (lambda: target("lenet5", (1, 12, 12), 0.5, "tanh"), {"construction": "cunha"}, "ReLU networks"),
        (lambda: target("lenet5", (1, 12, 12), 0.5), {"construction": "pensia"}, "MLP targets"),
        (lambda: target("lenet5", (1, 12, 12), 0.5), {"construction": "burkholz-l1", "layers": "conv"}, "--layers all"),
        (lambda: target("lenet5", (1, 12, 12), 0.5), {"construction": "magic"}, "unknown construction"),
        (lambda: target("lenet5", (1, 12, 12), 0.5), {"layers": "fc9"}, "no layer named fc9"),
        (lambda: target("lenet5", (1, 12, 12), 0.5), {"n": 0}, "--n"),
    ],
)
def test_bad_requests(make, kwargs: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        construct(make(), (1, 12, 12) if "cnn3" not in str(make) else (1, 8, 8), **{"n": 4, **kwargs})


def test_a_two_layer_source_too_large_to_draw_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # cnn3 on 8x8 inputs, width 0.25: conv1 1->8 (3x3), conv2 8->8 (3x3), fc 8*4*4=128 -> 4.
    # With n = 4 the fc source holds 128 * (128*4 + 4) + 4 * (128*4 + 4) = 68,112 weights, the
    # conv2 source 8 * 36 + 8 * 36 * 9 = 2,880; a limit between them refuses fc only.
    import ticketlab.strong.two_layer as two_layer

    monkeypatch.setattr(two_layer, "MAX_SOURCE_ENTRIES", 10_000)
    model = target("cnn3", (1, 8, 8), 0.25)
    with pytest.raises(ConfigError, match=r"^fc: its random two-layer source would hold 68,112 weights"):
        construct(model, (1, 8, 8), construction="burkholz-2l", n=4)
    construct(model, (1, 8, 8), construction="burkholz-2l", n=4, layers="conv")


@pytest.mark.parametrize("name, shape, width, construction, n", [("cnn3", (1, 8, 8), 0.25, "burkholz-l1", 24),
                                                                  ("resnet20", (3, 8, 8), 0.25, "burkholz-l1", 6),
                                                                  ("lenet5", (1, 12, 12), 0.5, "cunha", 20)])
def test_block_output_errors_read_the_copies_of_every_unit(name: str, shape: tuple, width: float, construction: str,
                                                          n: int) -> None:
    """Every block gets a row; the last (the logits) equals the error of the whole forward pass."""
    from ticketlab.strong.metrics import output_errors

    model = target(name, shape, width)
    built = construct(model, shape, construction=construction, n=n)
    x = torch.randn(32, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rows = output_errors(built, [x])
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    # One row per layer; resnet20 has one per residual block (its 9 blocks, the stem and fc).
    assert len(rows) == (11 if name == "resnet20" else len(layers))
    # burkholz-l1's copy errors compound layer by layer: at n = 6 a 19-layer ResNet's rows grow
    # far above 1, which is a measurement to report, not a failure of the readout.
    assert all(math.isfinite(r["max_rel_error"]) and r["max_rel_error"] >= 0 for r in rows)
    if name != "resnet20":
        assert all(r["max_rel_error"] < 0.1 for r in rows)
    assert rows[-1]["max_rel_error"] == pytest.approx(relative_error(model, built.ticket(), shape), rel=1e-9)


SUPPORTED = [("cunha", "relu"), ("cunha", "leaky-relu"), ("burkholz-2l", "relu"), ("burkholz-2l", "leaky-relu"),
             ("burkholz-2l", "tanh"), ("burkholz-l1", "relu"), ("burkholz-l1", "leaky-relu"), ("burkholz-l1", "tanh")]


@pytest.mark.parametrize("construction, activation", SUPPORTED)
def test_every_construction_and_activation_converges_on_a_tiny_cnn(construction: str, activation: str) -> None:
    """cnn3 at 4 channels: more random candidates per weight give a closer ticket (n = 10 -> 24)."""
    model = target("cnn3", (1, 8, 8), 0.125, activation)
    coarse, fine = (relative_error(model, construct(model, (1, 8, 8), construction=construction, n=n).ticket(),
                                   (1, 8, 8)) for n in (10, 24))
    assert fine < 0.2 and fine < coarse / 2
