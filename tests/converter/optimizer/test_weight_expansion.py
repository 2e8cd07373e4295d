"""Load-time expansion: float16 and N-bit stored weights become float32 once, in memory."""

from __future__ import annotations

import numpy as np
from gossamer.converter.optimizer.weight_expansion import expand_stored_weights
from gossamer.refimpl.interpreter import Program
from gossamer.refimpl.ir import Graph, Node, QuantParams, Value

import gossamer

X = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)


def matmul_graph(nodes: list[Node], initializers: dict, **kw) -> Graph:  # noqa: ANN003
    """x @ w, with `w` rebuilt by `nodes` from `initializers`."""
    return Graph(
        nodes=[*nodes, Node("MatMul", ["x", "w"], ["y"], {}, "mm")],
        inputs=[Value("x", "float32", (2, 4))],
        outputs=[Value("y", "float32", (2, 3))],
        initializers=initializers,
        opsets={"": 21},
        **kw,
    )


def ops(graph: Graph) -> list[str]:
    return [n.op_type for n in graph.nodes]


def same_result(a: Graph, b: Graph) -> bool:
    return np.array_equal(Program(a).run({"x": X})["y"], Program(b).run({"x": X})["y"])


W16 = np.arange(12, dtype=np.float16).reshape(4, 3) / 8
CODES = np.array([[1, -2, 3], [-4, 5, -6], [7, -7, 0], [2, 2, -1]], dtype=np.int8)
SCALE = np.array([0.5, 0.25, 0.125], np.float32)


def test_a_cast_of_a_float16_weight_becomes_a_float32_initializer() -> None:
    graph = matmul_graph([Node("Cast", ["w16"], ["w"], {"to": 1}, "cast")], {"w16": W16})
    expanded = expand_stored_weights(graph)
    assert ops(expanded) == ["MatMul"] and list(expanded.initializers) == ["w"]
    assert expanded.initializers["w"].dtype == np.float32
    assert same_result(graph, expanded)
    assert ops(graph) == ["Cast", "MatMul"] and "w16" in graph.initializers  # input unchanged


def test_a_dequantize_of_constant_codes_folds_and_drops_its_quant_entry() -> None:
    graph = matmul_graph(
        [Node("DequantizeLinear", ["q", "s"], ["w"], {"axis": 1}, "dq")],
        {"q": CODES, "s": SCALE},
        quant={"q": QuantParams(SCALE, np.zeros(3, np.int8), axis=1, bits=4)},
    )
    expanded = expand_stored_weights(graph)
    assert ops(expanded) == ["MatMul"] and expanded.quant == {}
    assert same_result(graph, expanded)


def test_the_cast_sub_mul_chain_of_annotated_codes_folds() -> None:
    codes = CODES.astype(np.uint8) + 8
    graph = matmul_graph(
        [
            Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
            Node("Sub", ["qf", "z"], ["qz"], {}, "sub"),
            Node("Mul", ["qz", "s"], ["w"], {}, "mul"),
        ],
        {"q": codes, "z": np.full((1, 3), 8, np.float32), "s": SCALE.reshape(1, 3)},
        quant={"q": QuantParams(SCALE, np.full(3, 8, np.uint8), axis=1, bits=4)},
    )
    expanded = expand_stored_weights(graph)
    assert ops(expanded) == ["MatMul"] and list(expanded.initializers) == ["w"]
    assert same_result(graph, expanded)


def test_unannotated_codes_read_as_a_matmul_weight_fold() -> None:
    # a weight quantised per column and stored as Cast(int8) * scale (no DequantizeLinear)
    graph = matmul_graph(
        [
            Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
            Node("Mul", ["qf", "s"], ["w"], {}, "mul"),
        ],
        {"q": CODES, "s": SCALE.reshape(1, 3)},
    )
    expanded = expand_stored_weights(graph)
    assert ops(expanded) == ["MatMul"] and list(expanded.initializers) == ["w"]
    assert same_result(graph, expanded)


def gather_graph(extra_use: bool) -> Graph:
    """An int8 table dequantized as Cast * scale and read by a Gather (and, if `extra_use`,
    also as a MatMul weight)."""
    nodes = [
        Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
        Node("Mul", ["qf", "s"], ["table"], {}, "mul"),
        Node("Gather", ["table", "ids"], ["rows"], {"axis": 0}, "gather"),
    ]
    outputs = [Value("rows", "float32", (2, 3))]
    if extra_use:
        nodes.append(Node("MatMul", ["x", "table"], ["y"], {}, "mm"))
        outputs.append(Value("y", "float32", (2, 3)))
    return Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (2, 4)), Value("ids", "int64", (2,))],
        outputs=outputs,
        initializers={"q": CODES, "s": SCALE.reshape(1, 3)},
        opsets={"": 21},
    )


def test_unannotated_codes_read_by_a_gather_are_left_to_the_model() -> None:
    # onnxruntime-quantised models dequantize int8 embedding tables this way; Gather push-down
    # dequantizes only the gathered rows, so the table stays compact
    for extra_use in (False, True):
        graph = gather_graph(extra_use)
        assert expand_stored_weights(graph) is graph


def test_unannotated_codes_through_a_non_constant_op_are_left() -> None:
    graph = matmul_graph(
        [
            Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
            Node("Mul", ["qf", "x2"], ["w"], {}, "mul"),
        ],
        {"q": CODES},
    )
    graph.inputs.append(Value("x2", "float32", (4, 3)))
    assert expand_stored_weights(graph) is graph


def test_a_qdq_unit_keeps_its_weight_dequantize() -> None:
    graph = Graph(
        nodes=[
            Node("QuantizeLinear", ["x", "xs"], ["xq"], {}, "q"),
            Node("DequantizeLinear", ["xq", "xs"], ["xd"], {}, "dqx"),
            Node("DequantizeLinear", ["wq", "s"], ["w"], {"axis": 1}, "dqw"),
            Node("MatMul", ["xd", "w"], ["y"], {}, "mm"),
        ],
        inputs=[Value("x", "float32", (2, 4))],
        outputs=[Value("y", "float32", (2, 3))],
        initializers={"xs": np.array(0.1, np.float32), "wq": CODES, "s": SCALE},
        opsets={"": 21},
    )
    assert expand_stored_weights(graph) is graph


def test_a_weight_a_feed_may_replace_is_not_folded() -> None:
    graph = matmul_graph([Node("Cast", ["w16"], ["w"], {"to": 1}, "cast")], {"w16": W16})
    graph.inputs.append(Value("w16", "float16", (4, 3)))
    assert expand_stored_weights(graph) is graph


def test_load_expands_before_optimising_and_only_then() -> None:
    graph = matmul_graph([Node("Cast", ["w16"], ["w"], {"to": 1}, "cast")], {"w16": W16})
    assert "Cast" not in ops(gossamer.load(graph).graph)
    assert "Cast" in ops(gossamer.load(graph, optimize=0).graph)  # the graph as written


def test_load_expands_only_graphs_with_a_cast_or_dequantize(monkeypatch) -> None:  # noqa: ANN001
    from gossamer.converter.optimizer import weight_expansion

    seen: list[list[str]] = []

    def spy(graph: Graph) -> Graph:
        seen.append(ops(graph))
        return expand_stored_weights(graph)

    monkeypatch.setattr(weight_expansion, "expand_stored_weights", spy)
    plain = matmul_graph([Node("Relu", ["w0"], ["w"], {}, "relu")], {"w0": np.ones((4, 3), "f")})
    gossamer.load(plain, backends=[])
    assert seen == []  # no op a fold starts from: not asked
    cast = matmul_graph([Node("Cast", ["w16"], ["w"], {"to": 1}, "cast")], {"w16": W16})
    sess = gossamer.load(cast, backends=[])
    assert seen == [["Cast", "MatMul"]]
    np.testing.assert_allclose(sess.run(None, {"x": X})[0], X @ W16.astype(np.float32), 1e-6)


def test_the_expansion_files_the_codes_of_a_weight_it_makes_from_them() -> None:
    from gossamer.refimpl.int8_codes import known

    graph = matmul_graph(
        [
            Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
            Node("Mul", ["s", "qf"], ["w"], {}, "mul"),  # (either operand order)
        ],
        {"q": CODES, "s": SCALE.reshape(1, 3)},
    )
    w = expand_stored_weights(graph).initializers["w"]
    q, s = known(w)
    assert q is CODES and np.array_equal(s, SCALE)
    assert np.array_equal(q.astype(np.float32) * s, w)
