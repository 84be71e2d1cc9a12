"""Masks hold through training, and the trainer is exactly SGD on the masked problem."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ticketlab.data import DataBundle, DataConfig, load_data, train_batches
from ticketlab.masks import Mask, full_mask, uniform_random_mask
from ticketlab.models import build_model
from ticketlab.training import TrainConfig, Trainer


@pytest.fixture(scope="module")
def data() -> DataBundle:
    cfg = DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=320, synthetic_test=64)
    return load_data(cfg)


def model_and_mask(data: DataBundle, sparsity: float = 0.8) -> tuple[torch.nn.Module, Mask]:
    model = build_model("lenet300", data.info.image_shape, data.info.num_classes, seed=1)
    mask = uniform_random_mask(full_mask(model), sparsity, torch.Generator().manual_seed(2))
    return model, mask


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(duration="50it", batch_size=16, lr=0.05, momentum=0.9, weight_decay=5e-4),
        TrainConfig(duration="50it", batch_size=16, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
        TrainConfig(duration="50it", batch_size=16, optimizer="adam", lr=0.01, weight_decay=1e-3),
    ],
    ids=["sgd-momentum-wd", "nesterov-wd", "adam-wd"],
)
def test_pruned_weights_stay_exactly_zero(data: DataBundle, config: TrainConfig) -> None:
    model, mask = model_and_mask(data)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = Trainer(model, data, config, seed=0, mask=mask)
    trainer.run()
    assert trainer.step == 50
    params = dict(model.named_parameters())
    state = trainer.optimizer.state
    for name, m in mask.items():
        p = params[name]
        assert torch.count_nonzero(p[~m]) == 0, name
        # Nothing that could revive them later has accumulated either.
        for buffer in ("momentum_buffer", "exp_avg", "exp_avg_sq"):
            if buffer in state[p]:
                assert torch.count_nonzero(state[p][buffer][~m]) == 0, (name, buffer)
        # ... while the kept weights did train.
        assert not torch.equal(p[m], before[name][m])


def test_masking_weights_only_once_is_not_enough(data: DataBundle) -> None:
    """The control: zeroing weights before training, momentum and decay revive them."""
    model, mask = model_and_mask(data)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in mask:
                p.mul_(mask[name])
    config = TrainConfig(duration="50it", batch_size=16, lr=0.05, weight_decay=5e-4)
    Trainer(model, data, config, seed=0).run()
    params = dict(model.named_parameters())
    assert all(torch.count_nonzero(params[n][~m]) > 0 for n, m in mask.items())


def test_trainer_equals_a_hand_written_masked_sgd_loop(data: DataBundle) -> None:
    """Oracle: plain SGD with per-layer gradient and weight masking, over the same batches."""
    config = TrainConfig(
        duration="2ep", batch_size=32, lr=0.05, momentum=0.9, weight_decay=1e-3, schedule="step", lr_drops="1ep"
    )
    model, mask = model_and_mask(data)
    trainer = Trainer(model, data, config, seed=7, mask=mask)
    trainer.run()

    reference, _ = model_and_mask(data)
    params = dict(reference.named_parameters())
    factors = {n: m.float() for n, m in mask.items()}
    with torch.no_grad():
        for n, f in factors.items():
            params[n].mul_(f)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    for epoch in range(2):
        for group in optimizer.param_groups:
            group["lr"] = 0.05 * (0.1 if epoch >= 1 else 1.0)
        for x, y in train_batches(data.train, 32, seed=7, epoch=epoch):
            optimizer.zero_grad()
            F.cross_entropy(reference(x), y).backward()
            for n, f in factors.items():
                params[n].grad.mul_(f)
            optimizer.step()
            with torch.no_grad():
                for n, f in factors.items():
                    params[n].mul_(f)
    for (name, got), expected in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(got, expected), name


def test_history_and_accuracy_ranges(data: DataBundle) -> None:
    model, mask = model_and_mask(data, 0.5)
    config = TrainConfig(duration="3ep", batch_size=32, lr=0.05)
    history = Trainer(model, data, config, seed=0, mask=mask).run()
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert [h["step"] for h in history] == [10, 20, 30]
    for h in history:
        assert 0.0 <= h["test_accuracy"] <= 1.0 and h["val_accuracy"] is None
    # Synthetic data is learnable: clearly above chance (10%) after three epochs.
    assert history[-1]["test_accuracy"] > 0.3


def test_iterations_end_mid_epoch(data: DataBundle) -> None:
    model, _ = model_and_mask(data)
    trainer = Trainer(model, data, TrainConfig(duration="25it", batch_size=32), seed=0)
    history = trainer.run()
    # 10 batches per epoch: epochs of 10, 10 and a final partial 5 steps.
    assert [h["step"] for h in history] == [10, 20, 25]


def test_zero_length_only_evaluates(data: DataBundle) -> None:
    model, mask = model_and_mask(data)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    history = Trainer(model, data, TrainConfig(duration="0ep"), seed=0, mask=mask).run()
    assert len(history) == 1
    assert history[0]["epoch"] == 0 and history[0]["step"] == 0 and history[0]["train_loss"] is None
    assert 0.0 <= history[0]["test_accuracy"] <= 1.0
    params = dict(model.named_parameters())
    for name, value in before.items():
        expected = value * mask[name] if name in mask else value
        assert torch.equal(model.state_dict()[name], expected), name
    assert all(torch.count_nonzero(params[n][~m]) == 0 for n, m in mask.items())


def test_eval_every_skips_evaluations_but_not_the_last(data: DataBundle) -> None:
    model, _ = model_and_mask(data)
    history = Trainer(model, data, TrainConfig(duration="5ep", batch_size=32, eval_every=2), seed=0).run()
    assert [h["test_accuracy"] is not None for h in history] == [False, True, False, True, True]
    assert all(h["train_loss"] is not None for h in history)


def test_bf16_mixed_precision_trains_under_the_mask_and_keeps_fp32_weights() -> None:
    data = load_data(DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=200, synthetic_test=40))
    model = build_model("lenet300", (1, 8, 8), 10, seed=0, width=0.2)
    mask = uniform_random_mask(full_mask(model), 0.8, torch.Generator().manual_seed(0))
    trainer = Trainer(model, data, TrainConfig(duration="3ep", batch_size=20, precision="bf16", weight_decay=1e-3),
                      seed=0, mask=mask)
    history = trainer.run()
    params = dict(model.named_parameters())
    assert all(params[name].dtype == torch.float32 for name in params)
    assert all(torch.all(params[name][~m] == 0) for name, m in mask.items())
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_fp16_needs_cuda() -> None:
    from ticketlab.errors import ConfigError

    data = load_data(DataConfig(dataset="synthetic", synthetic_shape="1x8x8", synthetic_train=40, synthetic_test=10))
    model = build_model("lenet300", (1, 8, 8), 10, seed=0, width=0.2)
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        Trainer(model, data, TrainConfig(precision="fp16"), seed=0)
