"""Losses as graph fragments: each value equals a plain numpy statement of PyTorch's definition, and
the backward program's gradient through it equals central finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.grad.backward_graph import build_backward
from gossamer.refimpl.grad.losses import Loss
from gossamer.refimpl.interpreter import Program
from gossamer.refimpl.ir import Graph, Node, Value

H = 1e-6
N, C = 5, 4


def _model(z: np.ndarray, opset: int = 17) -> Graph:
    """z = x * w with x = ones: the gradient of w is the loss's gradient in z."""
    return Graph(
        nodes=[Node("Mul", ["x", "w"], ["z"], name="mul")],
        inputs=[Value("x", "float64", z.shape)],
        outputs=[Value("z", "float64", z.shape)],
        initializers={"w": z},
        name="m",
        opsets={"": opset},
    )


def _run(
    loss: Loss, z: np.ndarray, labels: np.ndarray, opset: int = 17
) -> tuple[float, np.ndarray]:
    graph = loss.append_to(_model(z, opset))
    feeds = {"x": np.ones_like(z), **loss.feeds(labels, z.shape, np.float64)}
    backward = build_backward(graph, "loss", ["w"])
    env = Program(backward.graph).run(feeds)
    value = float(env["loss"])
    fd = np.zeros_like(z)
    for j in np.ndindex(z.shape):
        for sign in (1, -1):
            bumped = z.copy()
            bumped[j] += sign * H
            fd[j] += sign * float(Program(loss.append_to(_model(bumped, opset))).run(feeds)["loss"])
    np.testing.assert_allclose(env[backward.gradients["w"]], fd / (2 * H), rtol=1e-5, atol=1e-7)
    return value, env[backward.gradients["w"]]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_cross_entropy_with_probabilities_is_softmax_minus_target(rng):
    z = rng.standard_normal((N, C))
    t = rng.dirichlet(np.ones(C), N)
    value, grad = _run(Loss("cross_entropy"), z, t)
    assert value == pytest.approx(-(t * _log_softmax(z)).sum() / N)
    np.testing.assert_allclose(grad, (np.exp(_log_softmax(z)) - t) / N, atol=1e-12)


def test_cross_entropy_with_class_weights_and_label_smoothing(rng):
    z, w, eps = rng.standard_normal((N, C)), rng.uniform(0.5, 2, C), 0.1
    t = np.eye(C)[rng.integers(0, C, N)]
    value, _ = _run(Loss("cross_entropy", class_weights=w, label_smoothing=eps), z, t)
    smooth = t * (1 - eps) + eps / C
    assert value == pytest.approx(-(w * smooth * _log_softmax(z)).sum() / N)


def test_sparse_cross_entropy_matches_torch_with_weights_smoothing_and_ignore_index(rng):
    z, w, eps = rng.standard_normal((N, C)), rng.uniform(0.5, 2, C), 0.2
    y = np.array([0, 3, -100, 1, 3])
    value, _ = _run(Loss("sparse_cross_entropy", class_weights=w, label_smoothing=eps), z, y)
    lp, keep = _log_softmax(z), y != -100
    ys = y[keep]
    norm = w[ys].sum()  # torch: nll and the smoothing term are both divided by Σ w[y_n]
    nll = -(w[ys] * lp[keep, ys]).sum() / norm
    smooth = -(lp[keep] * w).sum() / norm
    assert value == pytest.approx((1 - eps) * nll + eps / C * smooth)


def test_sparse_cross_entropy_over_spatial_positions_sums(rng):
    z = rng.standard_normal((2, 3, 2, 2))
    y = rng.integers(0, 3, (2, 2, 2))
    value, _ = _run(Loss("sparse_cross_entropy", reduction="sum"), z, y)
    lp = _log_softmax(z)
    want = -np.take_along_axis(lp, y[:, None], axis=1).sum()
    assert value == pytest.approx(want)


def test_mse_and_l1(rng):
    z, t = rng.standard_normal((N, C)), rng.standard_normal((N, C))
    t[np.abs(z - t) < 0.05] += 0.2  # keep |d| off its kink for the finite differences
    assert _run(Loss("mse"), z, t)[0] == pytest.approx(((z - t) ** 2).mean())
    assert _run(Loss("l1"), z, t)[0] == pytest.approx(np.abs(z - t).mean())
    assert _run(Loss("l1", reduction="sum"), z, t)[0] == pytest.approx(np.abs(z - t).sum())


@pytest.mark.parametrize("opset", [17, 9])  # Clip's bounds as inputs, and as attributes
def test_huber(rng, opset):
    delta = 0.7
    z = rng.uniform(-2, 2, (N, C))
    t = np.zeros((N, C))
    z[np.abs(np.abs(z) - delta) < 0.05] += 0.2
    z[np.abs(z) < 0.05] += 0.2
    value, _ = _run(Loss("huber", delta=delta), z, t, opset)
    a = np.abs(z - t)
    assert value == pytest.approx(
        np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta)).mean()
    )


def test_bce_with_logits_with_weights_and_pos_weight_is_stable(rng):
    z = rng.standard_normal((N, C)) * 3
    z[0, 0] = 60.0  # log(1 + e^-|z|) keeps large logits finite
    t = rng.uniform(0, 1, (N, C))
    w, p = rng.uniform(0.5, 2, C), rng.uniform(0.5, 3, C)
    value, _ = _run(Loss("bce_with_logits", class_weights=w, pos_weight=p), z, t)
    log_sig = -np.logaddexp(0, -z)
    log_one_minus = -np.logaddexp(0, z)
    assert value == pytest.approx((-w * (p * t * log_sig + (1 - t) * log_one_minus)).mean())


def test_bad_labels_are_typed_errors():
    with pytest.raises(InputError, match="unknown loss"):
        Loss("hinge")
    with pytest.raises(InputError, match=r"in \[0, 4\)"):
        Loss("sparse_cross_entropy").feeds(np.array([0, 4]), (2, 4), np.float32)
    with pytest.raises(InputError, match="integer class labels"):
        Loss("sparse_cross_entropy").feeds(np.array([0.0, 1.0]), (2, 4), np.float32)
    with pytest.raises(InputError, match="output's shape"):
        Loss("mse").feeds(np.zeros((2, 3)), (2, 4), np.float32)
    with pytest.raises(InputError, match="one per class"):
        Loss("cross_entropy", class_weights=[1, 2]).feeds(np.zeros((2, 4)), (2, 4), np.float32)
