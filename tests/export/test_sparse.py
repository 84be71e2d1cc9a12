"""The sparse inference form: sparse layers against the dense masked layers' own outputs (F.linear, F.conv2d)."""

from __future__ import annotations

import copy
import io
import json
from collections import OrderedDict
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ticketlab.export.sparse import (
    SparseConv2d,
    SparseLayerChoice,
    SparseLinear,
    nonzero_parameters,
    rebuild_sparse_layers,
    sparse_layer_specs,
    sparsify,
)
from ticketlab.models.mlp import LeNet300


def prune_(weight: torch.Tensor, density: float, seed: int = 0) -> None:
    """Zero all but round(density * numel) randomly chosen entries of ``weight``, in place."""
    keep = round(density * weight.numel())
    order = torch.randperm(weight.numel(), generator=torch.Generator().manual_seed(seed))
    mask = torch.zeros(weight.numel(), dtype=torch.bool)
    mask[order[:keep]] = True
    with torch.no_grad():
        weight.mul_(mask.view_as(weight))


def close(out: torch.Tensor, ref: torch.Tensor) -> None:
    """Equal within float32 summation-order error: 1e-5 relative, 1e-6 of the output's scale absolute."""
    scale = max(1.0, float(ref.abs().max()) if ref.numel() else 0.0)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6 * scale)


def masked_linear(inputs: int, outputs: int, density: float, bias: bool = True, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(inputs, outputs, bias=bias)
    prune_(layer.weight, density, seed)
    with torch.no_grad():
        if bias:
            layer.bias.normal_()
    return layer


@pytest.mark.parametrize("density", [0.0, 0.01, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("batch", [1, 256])
def test_sparse_linear_matches_dense(density: float, batch: int) -> None:
    dense = masked_linear(120, 70, density)
    sparse = SparseLinear.from_dense(dense)
    assert sparse.nnz == int(torch.count_nonzero(dense.weight)) == round(density * 120 * 70)
    x = torch.randn(batch, 120)
    ref = F.linear(x, dense.weight.detach(), dense.bias.detach())
    out = sparse(x)
    assert out.shape == (batch, 70) and out.dtype == torch.float32
    close(out, ref)
    if density == 0.0:
        assert torch.equal(out, dense.bias.detach().expand(batch, 70))


def test_sparse_linear_leading_shapes_and_no_bias() -> None:
    dense = masked_linear(32, 24, 0.2, bias=False)
    sparse = SparseLinear.from_dense(dense)
    assert sparse.bias is None
    for shape in [(5, 7, 32), (1, 3, 32), (1, 32), (32,), (0, 32)]:
        x = torch.randn(*shape)
        out = sparse(x)
        assert out.shape == (*shape[:-1], 24)
        close(out, F.linear(x, dense.weight.detach()))


def test_sparse_linear_accepts_inputs_needing_grad_and_strided() -> None:
    dense = masked_linear(16, 8, 0.3)
    sparse = SparseLinear.from_dense(dense)
    x = torch.randn(4, 32, requires_grad=True)[:, ::2]  # non-contiguous, part of a graph
    for rows in (x, x[:1]):
        close(sparse(rows), F.linear(rows.detach(), dense.weight.detach(), dense.bias.detach()))


@pytest.mark.parametrize("density", [0.05, 0.5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride,padding,dilation", [(2, 1, 1), (1, 0, 1), (1, 2, 2)])
def test_sparse_conv2d_matches_dense(density: float, bias: bool, stride: int, padding: int, dilation: int) -> None:
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 8, 3, stride=stride, padding=padding, dilation=dilation, bias=bias)
    prune_(conv.weight, density)
    sparse = SparseConv2d.from_dense(conv)
    assert sparse.nnz == int(torch.count_nonzero(conv.weight))
    w, b = conv.weight.detach(), conv.bias.detach() if bias else None
    for x in (torch.randn(4, 3, 11, 9), torch.randn(1, 3, 8, 8)):
        out = sparse(x)
        assert out.is_contiguous()
        close(out, F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation))
    x = torch.randn(3, 10, 10)  # unbatched
    close(sparse(x), F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation))


def test_sparse_conv2d_same_padding_and_rectangular_kernel() -> None:
    torch.manual_seed(2)
    conv = nn.Conv2d(2, 4, (3, 5), padding="same")
    prune_(conv.weight, 0.3)
    x = torch.randn(2, 2, 7, 6)
    close(SparseConv2d.from_dense(conv)(x), F.conv2d(x, conv.weight.detach(), conv.bias.detach(), padding=(1, 2)))


def test_sparse_conv2d_rejects_what_it_cannot_express() -> None:
    with pytest.raises(ValueError, match="groups=2"):
        SparseConv2d.from_dense(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        SparseConv2d.from_dense(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="asymmetric"):
        SparseConv2d.from_dense(nn.Conv2d(4, 4, 2, padding="same"))


def tiny_mlp() -> nn.Sequential:
    torch.manual_seed(3)
    model = nn.Sequential(OrderedDict([
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(48, 40)), ("relu1", nn.ReLU()), ("drop", nn.Dropout(0.5)),
        ("fc2", nn.Linear(40, 20)), ("relu2", nn.ReLU()), ("fc3", nn.Linear(20, 5)),
    ]))
    for seed, (layer, density) in enumerate([(model.fc1, 0.05), (model.fc2, 0.6), (model.fc3, 0.2)]):
        prune_(layer.weight, density, seed)
    return model


class TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 2 * 2, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def tiny_cnn() -> TinyCNN:
    torch.manual_seed(4)
    model = TinyCNN()
    for seed, layer in enumerate([model.features[0], model.features[3], model.head[1]]):
        prune_(layer.weight, 0.25, seed)
    return model


def dense_layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if type(m) in (nn.Linear, nn.Conv2d)}


@pytest.mark.parametrize("build,shape", [(tiny_mlp, (3, 4, 4)), (tiny_cnn, (3, 8, 8))])
def test_sparsify_all_keeps_outputs_and_stores_only_nonzeros(build: Callable[[], nn.Module],
                                                             shape: tuple[int, ...]) -> None:
    model = build()
    before = copy.deepcopy(model.state_dict())
    x = torch.randn(6, *shape)
    with torch.no_grad():
        ref = model.eval()(x)
        ref1 = model(x[:1])
    model.train()
    made = sparsify(model, x, policy="all")
    # the original is untouched
    assert model.training and all(type(m) is not SparseLinear for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    dense = dense_layers(model)
    assert [c.name for c in made.layers] == list(dense)
    state = made.module.state_dict()
    for choice in made.layers:
        layer = dense[choice.name]
        nnz = int(torch.count_nonzero(layer.weight))
        assert choice == SparseLayerChoice(choice.name, "linear" if isinstance(layer, nn.Linear) else "conv2d",
                                           nnz / layer.weight.numel(), "sparse", "policy all", None, None)
        assert state[f"{choice.name}.values"].numel() == nnz
        assert f"{choice.name}.weight" not in state
    assert not made.module.training
    with torch.no_grad():
        close(made.module(x), ref)
        close(made.module(x[:1]), ref1)  # the batch-1 path
    assert nonzero_parameters(made.module) == nonzero_parameters(model)


def test_batch_one_fast_path_runs_the_chain_in_numpy_and_falls_back() -> None:
    made = sparsify(tiny_mlp(), torch.randn(2, 3, 4, 4), policy="all").module
    assert type(made).__name__ == "FusedSequential"
    x = torch.randn(1, 3, 4, 4)
    layerwise = x
    for m in made.children():  # the ordinary layer-by-layer path
        layerwise = m(layerwise)
    assert torch.equal(made(x), layerwise)
    made.drop.train()  # a training-mode dropout: no fast path, the ordinary forward
    torch.manual_seed(0)
    out = made(x)
    torch.manual_seed(0)
    assert torch.equal(out, nn.Sequential.forward(made, x))


def test_density_policy_keeps_dense_layers_above_the_threshold() -> None:
    model = tiny_mlp()
    made = sparsify(model, torch.randn(2, 3, 4, 4), policy=0.3)
    forms = {c.name: (c.form, c.reason) for c in made.layers}
    assert forms == {"fc1": ("sparse", "density 0.05 <= 0.3"), "fc2": ("dense", "density 0.6 > 0.3"),
                     "fc3": ("sparse", "density 0.2 <= 0.3")}
    assert type(made.module.fc2) is nn.Linear and type(made.module.fc1) is SparseLinear
    x = torch.randn(5, 3, 4, 4)
    with torch.no_grad():
        close(made.module(x), model.eval()(x))
        close(made.module(x[:1]), model(x[:1]))  # the fast path through a dense Linear
    none = sparsify(model, x, policy="none")
    assert {c.form for c in none.layers} == {"dense"} and {c.reason for c in none.layers} == {"policy none"}


def test_unsupported_layers_stay_dense_with_the_reason() -> None:
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Flatten(), nn.Linear(4, 2))
    made = sparsify(model, torch.randn(1, 4, 3, 3), policy="all")
    assert [(c.form, c.reason) for c in made.layers] == [("dense", "unsupported: groups=2"),
                                                         ("sparse", "policy all")]


@pytest.mark.parametrize("build,shape", [(tiny_mlp, (3, 4, 4)), (tiny_cnn, (3, 8, 8))])
def test_specs_rebuild_a_fresh_dense_model(build: Callable[[], nn.Module], shape: tuple[int, ...]) -> None:
    x = torch.randn(4, *shape)
    made = sparsify(build(), x, policy=0.3)
    specs = json.loads(json.dumps(sparse_layer_specs(made.module)))
    assert set(specs) == {c.name for c in made.layers if c.form == "sparse"}
    fresh = build()
    with torch.no_grad():
        for p in fresh.parameters():
            p.normal_()  # nothing of the fresh weights may survive
    rebuild_sparse_layers(fresh, specs)
    fresh.load_state_dict(made.module.state_dict())
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(x), made.module(x))
        assert torch.equal(fresh(x[:1]), made.module(x[:1]))
    assert sparse_layer_specs(fresh) == specs


def test_rebuild_checks_the_model_it_fills() -> None:
    specs = sparse_layer_specs(sparsify(tiny_mlp(), torch.randn(1, 48), policy="all").module)
    other = nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc1", nn.Linear(48, 41))]))
    with pytest.raises(ValueError, match="fc1"):
        rebuild_sparse_layers(other, {"fc1": specs["fc1"]})
    with pytest.raises(ValueError, match="unknown type"):
        rebuild_sparse_layers(tiny_mlp(), {"fc1": {**specs["fc1"], "type": "Sparse3d"}})


def test_loading_a_state_dict_replaces_the_cached_kernels() -> None:
    a, b = masked_linear(30, 10, 0.2, seed=1), masked_linear(30, 10, 0.2, seed=2)
    sparse = SparseLinear.from_dense(a)
    x = torch.randn(3, 30)
    sparse(x), sparse(x[:1])  # build the kernels
    sparse.load_state_dict(SparseLinear.from_dense(b).state_dict())
    for rows in (x, x[:1]):
        close(sparse(rows), F.linear(rows, b.weight.detach(), b.bias.detach()))


def test_indices_out_of_range_raise_instead_of_reaching_a_kernel() -> None:
    sparse = SparseLinear(5, 3, nnz=1)
    sparse.load_state_dict({"crow_indices": torch.tensor([0, 1, 1, 1], dtype=torch.int32),
                            "col_indices": torch.tensor([9], dtype=torch.int32), "values": torch.ones(1),
                            "bias": torch.zeros(3)})
    with pytest.raises(RuntimeError, match="col_indices"):
        sparse(torch.ones(1, 5))


def test_policy_auto_times_every_layer() -> None:
    model = tiny_cnn()
    x = torch.randn(4, 3, 8, 8)
    made = sparsify(model, x, repeats=2)
    assert [c.name for c in made.layers] == list(dense_layers(model))
    for c in made.layers:
        assert c.dense_ms is not None and c.sparse_ms is not None and c.dense_ms > 0 and c.sparse_ms > 0
        assert c.form == ("sparse" if c.sparse_ms < c.dense_ms else "dense")
        assert c.reason.endswith("at batch 4")
        assert type(made.module.get_submodule(c.name)).__name__.startswith("Sparse") == (c.form == "sparse")
    with torch.no_grad():
        close(made.module(x), model.eval()(x))


def test_bad_inputs_and_arguments() -> None:
    sparse = SparseLinear.from_dense(masked_linear(8, 4, 0.5))
    with pytest.raises(ValueError, match="float64"):
        sparse(torch.randn(2, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="float64"):
        sparse(torch.randn(1, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="float64"):
        SparseConv2d.from_dense(nn.Conv2d(2, 2, 1))(torch.randn(1, 2, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="8"):
        sparse(torch.randn(1, 9))
    with pytest.raises(ValueError, match="float64"):
        sparsify(tiny_mlp(), torch.randn(1, 48, dtype=torch.float64), policy="all")
    for policy in ("some", 0.0, 1.5, True):
        with pytest.raises(ValueError, match="policy"):
            sparsify(tiny_mlp(), torch.randn(1, 48), policy=policy)


def test_public_scipy_operator_when_the_private_kernel_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from ticketlab.export import sparse_layers

    monkeypatch.setattr(sparse_layers, "_csr_matvec", None)
    dense = masked_linear(20, 6, 0.3)
    x = torch.randn(1, 20)
    close(SparseLinear.from_dense(dense)(x), F.linear(x, dense.weight.detach(), dense.bias.detach()))


def test_fast_path_activations_and_pickling() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(12, 10), nn.Tanh(), nn.Linear(10, 8), nn.Sigmoid(), nn.Linear(8, 6),
                          nn.LeakyReLU(0.1), nn.Linear(6, 3), nn.Identity())
    for seed, layer in enumerate(model[::2]):
        prune_(layer.weight, 0.5, seed)
    x = torch.randn(1, 12)
    made = sparsify(model, x, policy="all").module
    with torch.no_grad():
        close(made(x), model(x))
    buffer = io.BytesIO()
    torch.save(made, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded).__name__ == "FusedSequential" and torch.equal(loaded(x), made(x))


def test_a_model_class_of_the_project_rebuilds_and_counts_its_parameters() -> None:
    model = LeNet300((1, 6, 6), 4, width=0.1)  # flatten -> 30 -> 10 -> 4
    model.eval()
    for seed, layer in enumerate([model.fc1, model.fc2, model.fc3]):
        prune_(layer.weight, 0.1, seed)
    expected = sum(int(torch.count_nonzero(p)) for p in model.parameters())
    x = torch.randn(3, 1, 6, 6)
    made = sparsify(model, x, policy="all")
    assert isinstance(made.module, LeNet300) and type(made.module).__name__ == "FusedLeNet300"
    assert nonzero_parameters(made.module) == expected == nonzero_parameters(model)
    fresh = LeNet300((1, 6, 6), 4, width=0.1)
    rebuild_sparse_layers(fresh, sparse_layer_specs(made.module))
    fresh.load_state_dict(made.module.state_dict())
    for rows in (x, x[:1]):
        with torch.no_grad():
            close(fresh.eval()(rows), model(rows))


def test_nonzero_parameters_counts_weights_not_indices_or_statistics() -> None:
    layer = masked_linear(10, 5, 0.5)
    with torch.no_grad():
        layer.bias[:2] = 0
    model = nn.Sequential(layer, nn.BatchNorm1d(5))  # BatchNorm: weight ones (5), bias zeros (0)
    made = sparsify(model, torch.randn(2, 10), policy="all").module
    assert nonzero_parameters(made) == 25 + 3 + 5
