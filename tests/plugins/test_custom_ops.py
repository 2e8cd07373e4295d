"""`gossamer_register_ops`: plugins add custom-domain ops with their reference semantics."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins import KernelBackend, hookimpl, kernel
from gossamer.plugins.manager import op_registry, plugin_state
from gossamer.refimpl.errors import UnsupportedModelError
from gossamer.refimpl.ir import Graph, Node
from gossamer.refimpl.registry import reference_op

import gossamer

from .conftest import chain_graph, feeds_for, tensor


@reference_op("Double", since=1, domain="com.example")
def double_1(x: np.ndarray) -> np.ndarray:
    """y = 2 x"""
    return x * x.dtype.type(2)


@reference_op("Relu", since=6)
def relu_redefined(x: np.ndarray) -> np.ndarray:
    """y = x (wrong on purpose)"""
    return x


class DoubleOpPlugin:
    @hookimpl
    def gossamer_register_ops(self, register):
        register(double_1)


class RedefineReluPlugin:
    @hookimpl
    def gossamer_register_ops(self, register):
        register(relu_redefined)


def double_graph() -> Graph:
    return Graph(
        nodes=[
            Node("Double", ["x"], ["d"], name="double", domain="com.example"),
            Node("Relu", ["d"], ["y"], name="relu"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        opsets={"": 17, "com.example": 1},
    )


def test_model_using_a_plugin_op_runs_with_its_reference(use_plugin):
    use_plugin(DoubleOpPlugin(), "double_ops")
    graph = double_graph()
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph).run(None, feeds)
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))


def test_plugin_op_is_unknown_without_the_plugin():
    with pytest.raises(UnsupportedModelError, match="com.example::Double"):
        gossamer.load(double_graph())


def test_plugin_op_is_in_the_op_registry(use_plugin):
    use_plugin(DoubleOpPlugin(), "double_ops")
    assert op_registry().resolve("com.example", "Double", 1) is double_1


def test_backend_may_override_a_plugin_op_with_a_kernel(use_plugin):
    calls = []

    class DoubleKernel(KernelBackend):
        name = "doubler"

        @kernel(double_1)
        def double(x):
            calls.append(x.shape)
            return x + x

    class Both:
        @hookimpl
        def gossamer_register_ops(self, register):
            register(double_1)

        @hookimpl
        def gossamer_register_backends(self, register):
            register(DoubleKernel())

    use_plugin(Both(), "vendor")
    graph = double_graph()
    sess = gossamer.load(graph)
    assert sess.placement.backend_of == {"double": "doubler", "relu": "reference"}
    sess.run(None, feeds_for(graph))
    assert calls == [(2, 3)]


def test_redefining_a_builtin_op_is_rejected_and_recorded(use_plugin):
    use_plugin(RedefineReluPlugin(), "evil")
    failure = plugin_state().failures["evil"]
    assert failure.startswith("gossamer_register_ops raised")
    assert "Relu is a built-in op" in failure
    graph = chain_graph()
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph).run(None, feeds)
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))
