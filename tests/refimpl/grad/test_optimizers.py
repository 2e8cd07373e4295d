"""Optimisers, schedules and clipping against PyTorch's update formulas written out in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.grad.optimizers import (
    SGD,
    Adam,
    AdamW,
    clip_by_global_norm,
    make_optimizer,
)
from gossamer.refimpl.grad.schedules import Schedule

STEPS = 4


def _grads(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 2)) for _ in range(STEPS)]


def _run(opt, lrs=(0.1, 0.05, 0.2, 0.1)) -> np.ndarray:
    x = {"w": np.linspace(-1, 1, 6).reshape(3, 2)}
    for g, lr in zip(_grads(), lrs):
        x = opt.step(x, {"w": g}, lr)
    return x["w"]


def _torch_sgd(momentum=0.0, nesterov=False, wd=0.0, lrs=(0.1, 0.05, 0.2, 0.1)) -> np.ndarray:
    """torch.optim.SGD.step (dampening 0), written out."""
    x, buf = np.linspace(-1, 1, 6).reshape(3, 2), None
    for g, lr in zip(_grads(), lrs):
        g = g + wd * x
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        x = x - lr * g
    return x


def _torch_adam(b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False, lrs=(0.1, 0.05, 0.2, 0.1)):
    """torch.optim.Adam / AdamW.step, written out."""
    x = np.linspace(-1, 1, 6).reshape(3, 2)
    m, v = np.zeros_like(x), np.zeros_like(x)
    for t, (g, lr) in enumerate(zip(_grads(), lrs), start=1):
        if decoupled:
            x = x * (1 - lr * wd)
        else:
            g = g + wd * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
    return x


@pytest.mark.parametrize(
    "momentum,nesterov,wd",
    [(0.0, False, 0.0), (0.0, False, 0.01), (0.9, False, 0.0), (0.9, True, 0.05)],
)
def test_sgd_matches_torch(momentum, nesterov, wd):
    got = _run(SGD(momentum=momentum, nesterov=nesterov, weight_decay=wd))
    np.testing.assert_allclose(got, _torch_sgd(momentum, nesterov, wd), rtol=1e-12)


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_matches_torch(wd):
    got = _run(Adam(betas=(0.8, 0.99), eps=1e-3, weight_decay=wd))
    np.testing.assert_allclose(got, _torch_adam(0.8, 0.99, 1e-3, wd), rtol=1e-12)


def test_adamw_decays_the_weights_apart_from_the_gradient():
    got = _run(AdamW(weight_decay=0.3))
    np.testing.assert_allclose(got, _torch_adam(wd=0.3, decoupled=True), rtol=1e-12)
    assert not np.allclose(got, _torch_adam(wd=0.3))


def test_float32_parameters_stay_float32():
    opt = make_optimizer("adam")
    out = opt.step({"w": np.ones(3, np.float32)}, {"w": np.ones(3, np.float32)}, 0.1)
    assert out["w"].dtype == np.float32 and opt.steps == 1


def test_bad_options_are_typed_errors():
    with pytest.raises(InputError, match="unknown optimizer"):
        make_optimizer("lbfgs")
    with pytest.raises(InputError, match="Nesterov"):
        SGD(nesterov=True)
    with pytest.raises(InputError, match="no gradient"):
        SGD().step({"w": np.ones(1)}, {}, 0.1)


def test_step_schedule_with_warmup():
    s = Schedule(1.0, "step", warmup=2, step_size=3, gamma=0.5)
    assert [s(i) for i in range(8)] == [0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]


def test_cosine_schedule_with_warmup_ends_at_lr_min():
    s = Schedule(1.0, "cosine", warmup=2, total_steps=12, lr_min=0.1)
    assert s(0) == 0.5 and s(2) == 1.0
    assert s(7) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 5 / 10)))
    assert s(12) == pytest.approx(0.1) and s(50) == pytest.approx(0.1)
    with pytest.raises(InputError, match="total_steps > warmup"):
        Schedule(1.0, "cosine", warmup=5, total_steps=5)


def test_clipping_scales_all_gradients_by_their_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == 5.0
    total = np.sqrt(sum(np.sum(g**2) for g in clipped.values()))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(clipped["a"], [3.0 / (5 + 1e-6), 0.0])
    same, _ = clip_by_global_norm(grads, 10.0)
    assert same["a"] is grads["a"]
