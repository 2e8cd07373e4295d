"""Gradient ops in the conformance table: the reference passes its own gradient cases, and a
backend's backward kernel is checked exactly as a forward kernel (a wrong one fails)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
from gossamer.conformance.cases import all_cases
from gossamer.conformance.runner import FAIL, PASS, run_cell
from gossamer.plugins import Backend, hookimpl
from gossamer.plugins import manager as plugin_manager
from gossamer.plugins.backend import KernelBackend, kernel
from gossamer.refimpl.grad import GRAD_DOMAIN, gradient_functions
from gossamer.refimpl.grad.grad_conv import conv_grad_1
from gossamer.refimpl.grad.grad_relu import relu_grad_6


class RightRelu(KernelBackend):
    name = "right-relu-grad"

    @kernel(relu_grad_6, dtypes={"float32"})
    def relu_grad(dy, x):
        return (np.where(x > 0, dy, np.float32(0)),)


class WrongRelu(KernelBackend):
    name = "wrong-relu-grad"

    @kernel(relu_grad_6, dtypes={"float32"})
    def relu_grad(dy, x):  # forgets the mask: negative inputs pass dy through
        return (dy.copy(),)


class WrongConv(KernelBackend):
    name = "wrong-conv-grad"

    @kernel(conv_grad_1, dtypes={"float32"})
    def conv_grad(dy, x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1,
                  kernel_shape=None, pads=None, strides=None):  # fmt: skip
        dx, dw, db = conv_grad_1(dy, x, w, b, auto_pad=auto_pad, dilations=dilations,
                                 group=group, kernel_shape=kernel_shape, pads=pads,
                                 strides=strides)  # fmt: skip
        return dx, dw * np.float32(1.001), db  # a 0.1 % weight-gradient error


class _Plugin:
    def __init__(self, *backends: Backend) -> None:
        self.backends = backends

    @hookimpl
    def gossamer_register_backends(self, register: Callable[[Backend], None]) -> None:
        for backend in self.backends:
            register(backend)


@pytest.fixture
def backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(plugin_manager, "entry_points", lambda group: [])
    plugin_manager.register_plugin(_Plugin(RightRelu(), WrongRelu(), WrongConv()), "grad-test")
    yield
    plugin_manager.unregister_plugin("grad-test")


def _case(op: str):
    (case,) = [c for c in all_cases() if c.domain == GRAD_DOMAIN and c.id.endswith(f"::{op}")]
    return case


def test_every_vjp_version_has_a_conformance_case():
    from gossamer.conformance.case import opset_of
    from gossamer.refimpl.registry import default_registry

    registry = default_registry()
    cases = [c for c in all_cases() if c.domain == GRAD_DOMAIN]
    tested = {registry.resolve(c.domain, c.op, opset_of(c)) for c in cases}
    assert not [fn.__name__ for fn in gradient_functions() if fn not in tested]


@pytest.mark.parametrize(("backend", "op", "verdict"), [
    ("right-relu-grad", "ReluGrad", PASS),
    ("wrong-relu-grad", "ReluGrad", FAIL),
    ("wrong-conv-grad", "ConvGrad", FAIL),
])  # fmt: skip
def test_a_backward_kernel_is_checked_like_a_forward_kernel(backends, backend, op, verdict):
    cell = run_cell(_case(op), "float32", backend, max_examples=2)
    assert cell.status == verdict, cell.message
