"""The cython Adam/Momentum kernels: the reference's results bit for bit, the declines that hand a
call back to the reference, and the Trainer running them (gossamer.train.optimizer_kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.optimizer_kernels import adam_kernel, momentum_kernel
from gossamer.plugins import RuntimeDecline
from gossamer.refimpl.ops.op_adam import adam_1
from gossamer.refimpl.ops.op_momentum import momentum_1


def _groups(rng, shapes, slots):
    out = []
    for slot in range(slots):
        for s in shapes:
            a = rng.standard_normal(s).astype(np.float32)
            out.append(np.abs(a) if slot == 3 else a)  # H: non-negative
    return out


@pytest.mark.parametrize("step", [0, 1, 9])
@pytest.mark.parametrize("threads", [1, 2])
def test_adam_is_the_reference_bit_for_bit(step, threads):
    from gossamer.plugins.run_context import using_threads

    tensors = _groups(np.random.default_rng(step), [(70000,), (3, 5), ()], 4)
    kw = dict(alpha=0.9, beta=0.999, epsilon=1e-8, norm_coefficient=0.01,
              norm_coefficient_post=0.001)  # fmt: skip
    with using_threads(threads):
        got = adam_kernel(np.array(1e-3), np.array(step), *tensors, **kw)
    want = adam_1(np.array(1e-3), np.array(step), *tensors, **kw)
    assert len(got) == len(want) == 9
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype == np.float32
        assert g.tobytes() == w.tobytes()


@pytest.mark.parametrize("mode", ["standard", "nesterov"])
@pytest.mark.parametrize("step", [0, 3])
def test_momentum_is_the_reference_bit_for_bit(mode, step):
    tensors = _groups(np.random.default_rng(7), [(40000,), (2, 2)], 3)
    kw = dict(alpha=0.9, beta=0.5, mode=mode, norm_coefficient=1e-4)
    got = momentum_kernel(np.array(0.1), np.array(step), *tensors, **kw)
    want = momentum_1(np.array(0.1), np.array(step), *tensors, **kw)
    for g, w in zip(got, want):
        assert g.tobytes() == w.tobytes()


def test_special_values_propagate_as_in_the_reference():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], np.float32)
    tensors = [x, x[::-1].copy(), np.ones(6, np.float32), np.zeros(6, np.float32)]
    kw = dict(alpha=0.9, beta=0.999, epsilon=1e-8, norm_coefficient=0.1,
              norm_coefficient_post=0.0)  # fmt: skip
    with np.errstate(all="ignore"):
        want = adam_1(np.array(0.01), np.array(2), *tensors, **kw)
    got = adam_kernel(np.array(0.01), np.array(2), *tensors, **kw)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_what_the_kernel_leaves_to_the_reference():
    x = np.zeros(4, np.float32)
    kw = dict(alpha=0.9, beta=0.999, epsilon=1e-8, norm_coefficient=0.0,
              norm_coefficient_post=0.0)  # fmt: skip
    with pytest.raises(RuntimeDecline, match="float64"):
        adam_kernel(np.array(0.1), np.array(1), x, x.astype(np.float64), x, x, **kw)
    with pytest.raises(RuntimeDecline, match="differ in shape"):
        adam_kernel(np.array(0.1), np.array(1), x, np.zeros((1, 4), np.float32), x, x, **kw)
    with pytest.raises(RuntimeDecline, match="mode"):
        momentum_kernel(np.array(0.1), np.array(1), x, x, x, alpha=0.9, beta=1.0, mode="heavy",
                        norm_coefficient=0.0)  # fmt: skip


def test_the_trainer_updates_with_the_backends_kernels():
    from gossamer.train import Trainer, optimizer_kernels

    from ..gossamer._train_models import small_cnn

    model = small_cnn(0, dropout=False, fc_bias=True)
    fast = Trainer(model, loss="sparse_cross_entropy", optimizer="adam", backends=["cython"])
    assert set(fast.optimizer.ops) == {adam_1, momentum_1}
    slow = Trainer(model, loss="sparse_cross_entropy", optimizer="adam", backends=[])
    assert slow.optimizer.ops == {} == optimizer_kernels(slow._infer)
    # a declined call (float64 here) runs the reference instead
    run = fast.optimizer.ops[adam_1]
    x = np.ones(3)
    out = run(np.array(0.1), np.array(1), x, x, x, x, alpha=0.9, beta=0.999, epsilon=1e-8,
              norm_coefficient=0.0, norm_coefficient_post=0.0)  # fmt: skip
    assert out[0].dtype == np.float64


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_every_fit_step_runs_the_backends_kernel(optimizer, monkeypatch):
    """The Trainer's updates go through Optimizer.ops: a counting kernel sees each step, and the
    weights equal those of a reference-optimiser trainer (the kernels are bit-exact)."""
    from gossamer.train import Trainer

    from ..gossamer._train_models import small_cnn

    model = small_cnn(0, dropout=False, fc_bias=True)
    rng = np.random.default_rng(0)
    x = {"x": rng.standard_normal((8, 1, 4, 4)).astype(np.float32)}
    y = rng.integers(0, 3, 8)
    kw = dict(loss="sparse_cross_entropy", optimizer=optimizer, lr=0.05, backends=["cython"])
    fast, plain = Trainer(model, **kw), Trainer(model, **kw)
    plain.optimizer.ops = {}
    op = adam_1 if optimizer == "adam" else momentum_1
    calls = []
    kernel = fast.optimizer.ops[op]
    fast.optimizer.ops[op] = lambda *a, **k: calls.append(1) or kernel(*a, **k)
    for _ in range(3):
        fast.train_step(x, y)
        plain.train_step(x, y)
    assert len(calls) == 3 * len(fast.trainable)
    for name in fast.trainable:
        assert fast.weights[name].tobytes() == plain.weights[name].tobytes(), name
