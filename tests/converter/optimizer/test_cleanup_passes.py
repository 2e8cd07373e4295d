"""O1 passes: constant folding, no-op removal, dead-node elimination."""

import numpy as np
from gossamer.converter.optimizer import optimize
from onnx import helper

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32


def test_constant_folding_replaces_a_constant_subgraph_with_an_initializer():
    g = graph_of(
        [node("Add", ["a", "b"], ["c"]), node("Mul", ["x", "c"], ["y"])],
        [("x", [2, 3])],
        [("y", [2, 3])],
        {"a": np.ones(3, F32), "b": np.full(3, 2, F32)},
    )
    out = optimized_matches(g, ["constant_folding", "dead_node_elimination"])
    assert ops(out) == {"Mul": 1}
    np.testing.assert_array_equal(out.initializers["c"], np.full(3, 3, F32))


def test_constant_folding_turns_constant_nodes_into_initializers():
    c = helper.make_node("Constant", [], ["c"], value=helper.make_tensor("v", 1, [1], [2.0]))
    g = graph_of([c, node("Mul", ["x", "c"], ["y"])], [("x", [2])], [("y", [2])])
    out = optimized_matches(g, ["constant_folding"])
    assert ops(out) == {"Mul": 1} and "c" in out.initializers


def test_constant_folding_folds_shape_of_a_static_input():
    g = graph_of(
        [node("Shape", ["x"], ["s"]), node("Reshape", ["x", "s"], ["y"])],
        [("x", [2, 3])],
        [("y", [2, 3])],
    )
    out = optimized_matches(g, ["constant_folding"])
    assert "Shape" not in ops(out)
    np.testing.assert_array_equal(out.initializers["s"], [2, 3])


def test_constant_folding_keeps_shape_of_a_symbolic_input():
    g = graph_of(
        [node("Shape", ["x"], ["s"]), node("Reshape", ["x", "s"], ["y"])],
        [("x", ["n", 3])],
        [("y", ["n", 3])],
    )
    out, report = optimize(g, passes=["constant_folding"])
    assert ops(out)["Shape"] == 1 and report.changed("constant_folding") == 0


def test_constant_folding_skips_random_ops():
    g = graph_of(
        [node("RandomNormal", [], ["r"], shape=[2]), node("Add", ["x", "r"], ["y"])],
        [("x", [2])],
        [("y", [2])],
    )
    out, _ = optimize(g, passes=["constant_folding"])
    assert ops(out)["RandomNormal"] == 1


def test_constant_folding_skips_outputs_larger_than_the_limit():
    shape = np.array([5, 1024, 1024], np.int64)  # 20 MB of float32
    g = graph_of(
        [node("Expand", ["one", "shape"], ["big"]), node("Add", ["x", "big"], ["y"])],
        [("x", [5, 1024, 1024])],
        [("y", [5, 1024, 1024])],
        {"one": np.ones(1, F32), "shape": shape},
    )
    out, _ = optimize(g, passes=["constant_folding"])
    assert ops(out)["Expand"] == 1


def _dequantized_weight(q: np.ndarray) -> object:
    """y = x @ (Cast(q) * 0.02): a weight stored as int8, dequantised in the graph."""
    return graph_of(
        [node("Cast", ["q"], ["f"], to=1), node("Mul", ["f", "s"], ["w"]),
         node("MatMul", ["x", "w"], ["y"])],
        [("x", [2, q.shape[0]])],
        [("y", [2, q.shape[1]])],
        {"q": q, "s": np.array(0.02, F32)},
    )  # fmt: skip


def test_constant_folding_keeps_int8_weights_and_their_dequantization():
    q = np.random.default_rng(0).integers(-128, 128, (64, 64)).astype(np.int8)  # 16 KiB as float
    out = optimized_matches(_dequantized_weight(q), ["constant_folding", "dead_node_elimination"])
    assert ops(out) == {"Cast": 1, "Mul": 1, "MatMul": 1}
    assert out.initializers["q"].dtype == np.int8


def test_constant_folding_folds_a_dequantization_within_the_growth_allowance():
    q = np.arange(-8, 8, dtype=np.int8).reshape(4, 4)  # 64 bytes as float32
    out = optimized_matches(_dequantized_weight(q), ["constant_folding", "dead_node_elimination"])
    assert ops(out) == {"MatMul": 1}


def test_constant_folding_folds_weight_transposes_that_do_not_grow_the_model():
    w = np.random.default_rng(1).standard_normal((64, 48)).astype(F32)
    g = graph_of(
        [node("Transpose", ["w"], ["wt"], perm=[1, 0]), node("MatMul", ["x", "wt"], ["y"])],
        [("x", [2, 48])],
        [("y", [2, 64])],
        {"w": w},
    )
    out = optimized_matches(g, ["constant_folding", "dead_node_elimination"])
    assert ops(out) == {"MatMul": 1}


def test_constant_folding_does_not_copy_a_weight_another_node_still_reads():
    w = np.random.default_rng(2).standard_normal((64, 64)).astype(F32)
    g = graph_of(
        [node("Transpose", ["w"], ["wt"], perm=[1, 0]), node("MatMul", ["x", "wt"], ["a"]),
         node("MatMul", ["x", "w"], ["b"]), node("Add", ["a", "b"], ["y"])],
        [("x", [2, 64])],
        [("y", [2, 64])],
        {"w": w},
    )  # fmt: skip
    out, _ = optimize(g, passes=["constant_folding"])
    assert ops(out)["Transpose"] == 1


def _gate_reorder(extra_reader: bool) -> object:
    """W [192, 32] -> three row Slices -> Concat (an LSTM gate reorder) -> Gemm; with
    extra_reader another node reads W itself too. Each Slice (8 KiB) alone is over the growth
    allowance."""
    w = np.random.default_rng(3).standard_normal((192, 32)).astype(F32)
    bounds = {"s0": [128], "e0": [192], "s1": [0], "e1": [64], "s2": [64], "e2": [128], "ax": [0]}
    nodes = [node("Slice", ["w", f"s{i}", f"e{i}", "ax"], [f"p{i}"]) for i in range(3)]
    nodes += [node("Concat", ["p0", "p1", "p2"], ["wr"], axis=0),
              node("Gemm", ["x", "wr"], ["y"], transB=1)]  # fmt: skip
    outputs = [("y", [2, 192])]
    if extra_reader:
        nodes.append(node("Relu", ["w"], ["z"]))
        outputs.append(("z", [192, 32]))
    inits = {"w": w} | {k: np.array(v, np.int64) for k, v in bounds.items()}
    return graph_of(nodes, [("x", [2, 32])], outputs, inits)


def test_constant_folding_folds_a_chain_as_large_as_the_weight_it_replaces():
    g = _gate_reorder(extra_reader=False)
    w = g.initializers["w"]
    out = optimized_matches(g, ["constant_folding", "dead_node_elimination"])
    assert ops(out) == {"Gemm": 1}
    np.testing.assert_array_equal(
        out.initializers["wr"], np.concatenate([w[128:], w[:64], w[64:128]])
    )
    assert "w" not in out.initializers


def test_constant_folding_keeps_a_chain_whose_weight_another_node_still_reads():
    out, _ = optimize(_gate_reorder(extra_reader=True), passes=["constant_folding"])
    assert ops(out)["Concat"] == 1 and ops(out)["Slice"] == 3


def test_constant_folding_folds_shape_of_a_held_value_on_its_own():
    """Shape of a value held back (a Transpose of a weight another node reads, not folded) is
    still folded from the static shape."""
    w = np.random.default_rng(4).standard_normal((64, 64)).astype(F32)
    g = graph_of(
        [node("Transpose", ["w"], ["wt"], perm=[1, 0]), node("MatMul", ["x", "wt"], ["a"]),
         node("MatMul", ["x", "w"], ["b"]), node("Shape", ["wt"], ["s"]),
         node("Reshape", ["a", "s"], ["c"]), node("Add", ["c", "b"], ["y"])],
        [("x", [64, 64])],
        [("y", [64, 64])],
        {"w": w},
    )  # fmt: skip
    out, _ = optimize(g, passes=["constant_folding"])
    assert ops(out)["Transpose"] == 1 and "Shape" not in ops(out)
    np.testing.assert_array_equal(out.initializers["s"], [64, 64])


def test_constant_folding_does_not_fold_initializers_a_feed_can_override():
    g = graph_of(
        [node("Add", ["a", "a"], ["c"]), node("Mul", ["x", "c"], ["y"])],
        [("x", [2]), ("a", [2])],
        [("y", [2])],
        {"a": np.ones(2, F32)},
    )
    out, _ = optimize(g, passes=["constant_folding"])
    assert ops(out)["Add"] == 1


def test_noop_removal_drops_identity_dropout_and_identity_transpose():
    g = graph_of(
        [
            node("Identity", ["x"], ["a"]),
            node("Dropout", ["a"], ["b"]),
            node("Transpose", ["b"], ["c"], perm=[0, 1]),
            node("Relu", ["c"], ["y"]),
        ],
        [("x", [2, 3])],
        [("y", [2, 3])],
    )
    out = optimized_matches(g, ["noop_removal"])
    assert ops(out) == {"Relu": 1} and out.nodes[0].inputs == ["x"]


def test_noop_removal_drops_same_shape_reshape_and_same_type_cast_and_zero_pad():
    g = graph_of(
        [
            node("Reshape", ["x", "shape"], ["a"]),
            node("Cast", ["a"], ["b"], to=1),
            node("Pad", ["b", "pads"], ["c"]),
            node("Relu", ["c"], ["y"]),
        ],
        [("x", [2, 3])],
        [("y", [2, 3])],
        {"shape": np.array([2, 3], np.int64), "pads": np.zeros(4, np.int64)},
    )
    out = optimized_matches(g, ["noop_removal"])
    assert ops(out) == {"Relu": 1}


def test_noop_removal_keeps_a_reshape_that_changes_the_shape():
    g = graph_of(
        [node("Reshape", ["x", "shape"], ["y"])],
        [("x", [2, 3])],
        [("y", [3, 2])],
        {"shape": np.array([3, 2], np.int64)},
    )
    out, _ = optimize(g, passes=["noop_removal"])
    assert ops(out) == {"Reshape": 1}


def test_noop_removal_keeps_dropout_in_training_mode():
    g = graph_of(
        [node("Dropout", ["x", "ratio", "train"], ["y"])],
        [("x", [4])],
        [("y", [4])],
        {"ratio": np.array(0.5, F32), "train": np.array(True)},
    )
    out, _ = optimize(g, passes=["noop_removal"])
    assert ops(out) == {"Dropout": 1}


def test_noop_removal_renames_the_producer_when_the_identity_writes_a_graph_output():
    g = graph_of(
        [node("Relu", ["x"], ["a"]), node("Identity", ["a"], ["y"])], [("x", [3])], [("y", [3])]
    )
    out = optimized_matches(g, ["noop_removal"])
    assert ops(out) == {"Relu": 1} and out.nodes[0].outputs == ["y"]


def test_noop_removal_keeps_an_identity_from_a_graph_input_to_a_graph_output():
    g = graph_of([node("Identity", ["x"], ["y"])], [("x", [3])], [("y", [3])])
    out, _ = optimize(g, passes=["noop_removal"])
    assert ops(out) == {"Identity": 1}


def test_dead_node_elimination_removes_unused_chains_and_initializers():
    g = graph_of(
        [
            node("Relu", ["x"], ["y"]),
            node("Add", ["x", "w"], ["dead1"]),
            node("Exp", ["dead1"], ["dead2"]),
        ],
        [("x", [3])],
        [("y", [3])],
        {"w": np.ones(3, F32)},
    )
    out = optimized_matches(g, ["dead_node_elimination"])
    assert ops(out) == {"Relu": 1} and "w" not in out.initializers


def test_dead_node_elimination_keeps_unused_graph_inputs():
    g = graph_of([node("Relu", ["x"], ["y"])], [("x", [3]), ("unused", [3])], [("y", [3])])
    out, _ = optimize(g, passes=["dead_node_elimination"])
    assert [v.name for v in out.inputs] == ["x", "unused"]
