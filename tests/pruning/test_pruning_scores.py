"""Every score against an independent oracle: hand values, closed forms, autograd on the loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.masks import full_mask
from ticketlab.pruning import SCORES, PruneConfig, ScoreContext

G = torch.Generator


def context(
    model: nn.Module, mask=None, batches=(), shape=(1, 1, 3), seed=0, **config
) -> ScoreContext:
    mask = mask if mask is not None else full_mask(model)
    return ScoreContext(
        model, mask, list(batches), shape, G().manual_seed(seed), PruneConfig(**config)
    )


def linear(weight: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


def lamp_of(weight: list[list[float]] | list[float], alive=None) -> torch.Tensor:
    w = torch.tensor(weight, dtype=torch.float32)
    model = linear(w.view(1, -1) if w.dim() == 1 else w)
    mask = {
        "weight": torch.ones_like(model.weight, dtype=torch.bool)
        if alive is None
        else alive.view(model.weight.shape)
    }
    return SCORES.get("lamp")(context(model, mask))["weight"].view(w.shape)


def test_lamp_hand_values() -> None:
    assert torch.allclose(
        lamp_of([1.0, 2.0, 3.0]), torch.tensor([1 / 14, 4 / 13, 1.0], dtype=torch.float64)
    )
    # Signs do not matter; the order of the entries does not either.
    assert torch.allclose(
        lamp_of([-3.0, 1.0, -2.0]), torch.tensor([1.0, 1 / 14, 4 / 13], dtype=torch.float64)
    )


def test_lamp_two_dimensional_by_hand() -> None:
    # w^2 = 9, 1, 4, 0.25; ascending tails: 14.25, 14, 13, 9.
    expected = torch.tensor([[9 / 9, 1 / 14], [4 / 13, 0.25 / 14.25]], dtype=torch.float64)
    assert torch.allclose(lamp_of([[3.0, -1.0], [2.0, 0.5]]), expected)


def test_lamp_ties_share_a_denominator_and_dead_entries_score_zero() -> None:
    assert torch.allclose(
        lamp_of([2.0, 2.0, 1.0]), torch.tensor([4 / 8, 4 / 8, 1 / 9], dtype=torch.float64)
    )
    alive = torch.tensor([True, True, False])
    assert torch.allclose(
        lamp_of([1.0, 2.0, 3.0], alive), torch.tensor([1 / 5, 1.0, 0.0], dtype=torch.float64)
    )


def test_magnitude_is_absolute_value() -> None:
    w = torch.tensor([[-2.0, 0.5], [0.0, 3.0]])
    assert torch.equal(SCORES.get("magnitude")(context(linear(w)))["weight"], w.abs())


def test_random_is_seeded_uniform_of_the_mask_shapes() -> None:
    model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3))
    first = SCORES.get("random")(context(model, seed=1))
    again = SCORES.get("random")(context(model, seed=1))
    other = SCORES.get("random")(context(model, seed=2))
    assert list(first) == ["0.weight", "1.weight"]
    assert all(
        first[n].shape == p.shape
        for n, p in zip(first, (model[0].weight, model[1].weight), strict=True)
    )
    assert all(torch.equal(first[n], again[n]) for n in first)
    assert not torch.equal(first["0.weight"], other["0.weight"])
    assert all(((s >= 0) & (s < 1)).all() for s in first.values())


def test_snip_equals_the_closed_form_gradient_of_softmax_cross_entropy() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 3, bias=True)
    mask = {"weight": torch.rand(3, 4) > 0.3}
    with torch.no_grad():
        model.weight.mul_(mask["weight"])
    batches = [
        (torch.randn(5, 4), torch.randint(0, 3, (5,))),
        (torch.randn(2, 4), torch.randint(0, 3, (2,))),
    ]
    gradient = torch.zeros(3, 4)
    for x, y in batches:
        # d(mean CE)/dW = (softmax(z) - onehot(y))^T x / B for z = x W^T + b.
        p = torch.softmax(x @ model.weight.detach().T + model.bias.detach(), dim=1)
        gradient += (p - F.one_hot(y, 3)).T @ x / len(y)
    score = SCORES.get("snip")(context(model, mask, batches))["weight"]
    assert torch.allclose(score, (gradient * model.weight.detach()).abs(), atol=1e-6)
    assert (score[~mask["weight"]] == 0).all()


def tiny_tanh_net() -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.Tanh(), nn.Linear(4, 2, bias=False))


def grasp_oracle(model: nn.Sequential, batches, temperature: float) -> torch.Tensor:
    """(H g) * theta with H and g of the exact loss from torch.autograd.functional."""
    w1, w2 = model[0].weight.detach(), model[2].weight.detach()
    theta = torch.cat([w1.flatten(), w2.flatten()]).double()

    def loss(t: torch.Tensor) -> torch.Tensor:
        a, b = t[:12].view(4, 3), t[12:].view(2, 4)
        return sum(
            F.cross_entropy(torch.tanh(x.double() @ a.T) @ b.T / temperature, y) for x, y in batches
        )

    g = torch.autograd.functional.jacobian(loss, theta)
    hessian = torch.autograd.functional.hessian(loss, theta)
    return hessian @ g * theta


def grasp_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = G().manual_seed(4)
    return [
        (torch.randn(6, 3, generator=gen), torch.randint(0, 2, (6,), generator=gen))
        for _ in range(2)
    ]


def test_grasp_is_hessian_gradient_product_times_weight_with_temperature() -> None:
    model, batches = tiny_tanh_net(), grasp_batches()
    for temperature in (1.0, 2.5):
        scores = SCORES.get("grasp")(context(model, batches=batches, grasp_temperature=temperature))
        flat = torch.cat([scores["0.weight"].flatten(), scores["2.weight"].flatten()]).double()
        assert torch.allclose(flat, grasp_oracle(model, batches, temperature), rtol=1e-4, atol=1e-9)
    assert not torch.allclose(grasp_oracle(model, batches, 1.0), grasp_oracle(model, batches, 2.5))


def test_synflow_equals_the_closed_form_of_a_linear_net() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Linear(4, 3, bias=False),
        nn.ReLU(),
        nn.Linear(3, 5, bias=False),
        nn.ReLU(),
        nn.Linear(5, 2, bias=False),
    )
    mask = full_mask(model)
    mask["2.weight"][1, 2] = mask["0.weight"][0, 0] = False
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.mul_(mask[name])
    a1, a2, a3 = (model[i].weight.detach().double().abs() for i in (0, 2, 4))
    one = lambda n: torch.ones(n, dtype=torch.float64)  # noqa: E731
    # R = 1^T |W3| |W2| |W1| 1; dR/dW1[i,j] = (1^T|W3||W2|)[i] * 1[j], and so on.
    expected = {
        "0.weight": torch.outer(one(2) @ a3 @ a2, one(4)) * a1,
        "2.weight": torch.outer(one(2) @ a3, a1 @ one(4)) * a2,
        "4.weight": torch.outer(one(2), a2 @ a1 @ one(4)) * a3,
    }
    scores = SCORES.get("synflow")(context(model, mask, shape=(1, 1, 4)))
    for name, value in expected.items():
        assert scores[name].dtype == torch.float64
        assert torch.allclose(scores[name], value, rtol=1e-12)
    assert scores["2.weight"][1, 2] == 0 and scores["0.weight"][0, 0] == 0


def snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
    }


def same(a: dict, b: dict) -> bool:
    return (
        a["state"].keys() == b["state"].keys()
        and all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
        and a["modes"] == b["modes"]
        and a["requires_grad"] == b["requires_grad"]
        and all(g is None for g in b["grads"])
    )


def test_every_score_leaves_a_batchnorm_model_untouched() -> None:
    from ticketlab.models import build_model

    model = build_model("resnet20", (3, 8, 8), 4, width=0.25)
    model[1].weight.requires_grad_(False)  # a frozen parameter stays frozen
    gen = G().manual_seed(0)
    batches = [(torch.randn(6, 3, 8, 8, generator=gen), torch.randint(0, 4, (6,), generator=gen))]
    for training in (True, False):
        model.train(training)
        before = snapshot(model)
        for entry in SCORES:
            scores = entry.value(context(model, batches=batches, shape=(3, 8, 8)))
            assert all(torch.isfinite(s).all() for s in scores.values()), entry.name
            assert same(before, snapshot(model)), entry.name


def test_grasp_prunes_the_lowest_hessian_gradient_products() -> None:
    from ticketlab.pruning import prune_at_init

    model, batches = tiny_tanh_net(), grasp_batches()
    oracle = grasp_oracle(model, batches, 200.0)
    config = PruneConfig(method="grasp", quota="global", sparsity=0.35)  # T = 200 by default
    outcome = prune_at_init(model, full_mask(model), config, batches, (1, 1, 3), G().manual_seed(0))
    kept = torch.cat([outcome.mask["0.weight"].flatten(), outcome.mask["2.weight"].flatten()])
    pruned = round(0.35 * oracle.numel())
    assert torch.equal(kept, oracle >= torch.sort(oracle).values[pruned])
    assert not kept[torch.argmin(oracle)] and kept[torch.argmax(oracle)]
