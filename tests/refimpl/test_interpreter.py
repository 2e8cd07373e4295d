"""The interpreter: unsupported-op reporting, tensor release, observers, error context."""

import numpy as np
import pytest
from gossamer.refimpl.errors import GraphValidationError, NodeExecutionError, UnsupportedModelError
from gossamer.refimpl.interpreter import Program
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.registry import OpRegistry, default_registry, reference_op
from onnx import helper

import gossamer
from tests.conftest import make_model, tensor_info


def _relu_chain(n: int) -> Graph:
    nodes = [
        Node("Relu", ["x" if i == 0 else f"t{i - 1}"], [f"t{i}"], name=f"r{i}") for i in range(n)
    ]
    return Graph(nodes, [Value("x", "float32", (4,))], [Value(f"t{n - 1}")])


def test_all_unsupported_ops_are_listed_at_once():
    model = make_model(
        [
            helper.make_node("FooOp", ["x"], ["a"], name="f1"),
            helper.make_node("FooOp", ["a"], ["b"], name="f2"),
            helper.make_node("BarOp", ["b"], ["c"], name="b1", domain="com.vendor"),
        ],
        [tensor_info("x")],
        [tensor_info("c")],
        extra_opsets=[helper.make_opsetid("com.vendor", 1)],
    )
    with pytest.raises(UnsupportedModelError) as info:
        gossamer.load(model.SerializeToString())
    found = {(u["domain"], u["op_type"]): u for u in info.value.unsupported}
    assert found[("ai.onnx", "FooOp")]["count"] == 2
    assert found[("ai.onnx", "FooOp")]["nodes"] == ["f1", "f2"]
    assert found[("com.vendor", "BarOp")]["opset"] == 1
    assert "FooOp" in str(info.value) and "BarOp" in str(info.value)


def test_intermediates_are_released_after_last_use():
    program = Program(_relu_chain(50))
    env = program.run({"x": np.ones(4, np.float32)})
    assert set(env) == {"t49"}  # the feed and every intermediate were dropped after their last use


def test_live_tensors_stay_bounded_on_a_long_chain():
    import weakref

    alive = []

    class Tracker:
        def before_node(self, node, inputs):
            pass

        def after_node(self, node, inputs, outputs):
            alive.append(weakref.ref(outputs[0]))

    Program(_relu_chain(200)).run({"x": np.ones(1000, np.float32)}, observers=[Tracker()])
    assert sum(r() is not None for r in alive) <= 1  # only the graph output survives


def test_keep_all_retains_every_intermediate():
    env = Program(_relu_chain(5)).run({"x": np.ones(4, np.float32)}, keep_all=True)
    assert {f"t{i}" for i in range(5)} <= set(env)


def test_observers_see_each_node_before_and_after():
    calls = []

    class Recorder:
        def before_node(self, node, inputs):
            calls.append(("before", node.name, len(inputs)))

        def after_node(self, node, inputs, outputs):
            calls.append(("after", node.name, outputs[0].shape))

    Program(_relu_chain(2)).run({"x": np.ones(4, np.float32)}, observers=[Recorder()])
    assert calls == [
        ("before", "r0", 1),
        ("after", "r0", (4,)),
        ("before", "r1", 1),
        ("after", "r1", (4,)),
    ]


def test_op_failure_names_node_op_and_inputs():
    @reference_op("Boom", since=1)
    def boom_1(x):
        """y = error"""
        raise ZeroDivisionError("kaput")

    registry = OpRegistry()
    registry.register(boom_1)
    g = Graph(
        [Node("Boom", ["x"], ["y"], name="the_node")], [Value("x", "float32", (2,))], [Value("y")]
    )
    with pytest.raises(NodeExecutionError, match=r"the_node \(Boom\).*float32\[2\].*kaput") as info:
        Program(g, registry).run({"x": np.zeros(2, np.float32)})
    assert info.value.node_name == "the_node" and info.value.op_type == "Boom"


def test_unknown_attribute_is_rejected_at_load():
    g = Graph(
        [Node("Relu", ["x"], ["y"], {"alpha": 1.0}, name="r")],
        [Value("x", "float32", (2,))],
        [Value("y")],
    )
    with pytest.raises(GraphValidationError, match="alpha"):
        Program(g)


def test_too_many_inputs_are_rejected_at_load():
    g = Graph(
        [Node("Relu", ["x", "x"], ["y"], name="r")], [Value("x", "float32", (2,))], [Value("y")]
    )
    with pytest.raises(GraphValidationError, match="at most 1"):
        Program(g)


def test_registry_picks_highest_version_not_above_opset():
    registry = default_registry()
    fn = registry.resolve("", "Relu", 20)
    assert fn is not None and fn.__gossamer_op__.since <= 20
    assert registry.resolve("", "NoSuchOp", 20) is None


def test_central_dtype_check_names_the_accepted_dtypes():
    g = Graph([Node("Relu", ["x"], ["y"], name="r")], [Value("x", "bool", (2,))], [Value("y")])
    with pytest.raises(NodeExecutionError, match="does not accept input 0 of dtype bool"):
        Program(g).run({"x": np.zeros(2, bool)})


def test_the_parameters_read_from_code_objects_are_what_inspect_says_for_every_op():
    """The signature check reads plain functions' code objects (fast); it must agree with
    inspect.signature, which it falls back to for anything else."""
    import functools

    from gossamer.refimpl import interpreter
    from gossamer.refimpl.registry import default_registry

    by_inspect = interpreter._parameters_by_signature

    functions = default_registry().functions()
    assert len(functions) > 200
    for fn in functions:
        assert interpreter._parameters(fn) == by_inspect(fn), fn.__qualname__

    def odd(a, /, b, *rest, axis, keep=1, num_outputs, **more):
        return a

    wrapped = functools.wraps(odd)(lambda *args, **kwargs: odd(*args, **kwargs))
    for fn in (odd, wrapped, functools.partial(odd, 1)):
        assert interpreter._parameters(fn) == by_inspect(fn)
    assert interpreter._parameters(odd) == (("a", "b"), True, frozenset({"axis", "keep",
                                            "num_outputs"}), True, ("axis",))  # fmt: skip
