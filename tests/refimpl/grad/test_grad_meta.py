"""Meta-tests of the gradient table: the required ops have VJPs, every VJP has a finite-difference
check, the lazy index is complete, and VJPs are registry ops a graph and a backend can use."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
from gossamer.refimpl.grad import (
    GRAD_DOMAIN,
    GRAD_MODULES,
    grad_spec_of,
    gradient_functions,
    register_gradient_ops,
    scan_grad_index,
    vjp_for,
)
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.registry import default_registry, spec_of

REQUIRED = """Conv ConvTranspose Gemm MatMul Add Sub Mul Div Relu LeakyRelu PRelu Sigmoid Tanh
HardSwish
Gelu Softmax LogSoftmax MaxPool AveragePool GlobalAveragePool BatchNormalization LayerNormalization
Reshape Flatten Transpose Concat Split Slice Gather Pad ReduceMean ReduceSum Dropout Clip Sqrt Exp
Log Pow Where""".split()
FAMILIES = ("test_grad_elementwise", "test_grad_conv", "test_grad_nn", "test_grad_shape")


def _forward_ops() -> set[str]:
    return {grad_spec_of(fn).forward for fn in gradient_functions()}


def test_every_required_op_has_a_vjp():
    assert not sorted(set(REQUIRED) - _forward_ops())
    assert len(REQUIRED) >= 35


def test_every_vjp_has_a_finite_difference_check():
    checked: set[str] = set()
    for name in FAMILIES:
        checked |= importlib.import_module(f"{__package__}.{name}").CHECKED
    assert not sorted(_forward_ops() - checked), "VJPs without a gradient check"
    assert not sorted(checked - _forward_ops()), "checks naming ops without a VJP"


def test_the_lazy_index_lists_every_vjp_module():
    assert GRAD_MODULES == scan_grad_index(), "run gossamer.refimpl.grad.write_grad_index()"


def test_every_vjp_is_a_grad_domain_op_named_for_its_forward():
    for fn in gradient_functions():
        spec, grad = spec_of(fn), grad_spec_of(fn)
        assert (spec.domain, spec.op_type) == (GRAD_DOMAIN, f"{grad.forward}Grad")
        assert spec.since == grad.since and fn.__doc__ and fn.__doc__.strip()


def _keywords(fn) -> dict:
    params = inspect.signature(fn).parameters.values()
    return {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}


def test_each_forward_version_with_a_vjp_shares_its_attributes_and_defaults():
    registry = default_registry()
    for forward_op in _forward_ops():
        for since in registry.versions("", forward_op):
            forward = registry.resolve("", forward_op, since)
            vjp = vjp_for(forward)
            if vjp is not None:
                missing = _keywords(forward).items() - _keywords(vjp).items()
                assert not missing, f"{vjp.__name__} lacks {forward.__name__}'s {missing}"


def test_vjp_for_picks_the_version_of_the_forward():
    registry = default_registry()
    assert vjp_for(registry.resolve("", "Softmax", 11)).__name__ == "softmax_grad_1"
    assert vjp_for(registry.resolve("", "Softmax", 21)).__name__ == "softmax_grad_13"
    assert vjp_for(registry.resolve("", "Hardmax", 21)) is None


def test_a_grad_node_runs_in_a_program_with_the_grad_ops_registered():
    from gossamer.refimpl.interpreter import Program

    registry = default_registry().copy()
    register_gradient_ops(registry)
    node = Node("ReluGrad", ["dy", "x"], ["dx"], name="g", domain=GRAD_DOMAIN)
    graph = Graph(
        nodes=[node],
        inputs=[Value("dy", "float32", (3,)), Value("x", "float32", (3,))],
        outputs=[Value("dx")],
        name="relu_backward",
        opsets={"": 21, GRAD_DOMAIN: 21},
    )
    out = Program(graph, registry).run(
        {"dy": np.ones(3, np.float32), "x": np.array([-1.0, 0.5, 2.0], np.float32)}
    )
    assert out["dx"].tolist() == [0.0, 1.0, 1.0]


def test_a_backend_overrides_a_vjp_exactly_as_a_forward_op():
    from gossamer.plugins.backend import KernelBackend, kernel
    from gossamer.refimpl.grad.grad_relu import relu_grad_6

    class FastGrad(KernelBackend):
        name = "fast-grad"

        @kernel(relu_grad_6, dtypes={"float32"})
        def relu_grad(dy, x):
            return (dy * (x > 0),)

    assert relu_grad_6 in FastGrad.kernels
