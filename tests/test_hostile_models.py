"""One small model per distinct finding of the model fuzzer (tools/fuzz_models.py): each once
crashed, hung or raised an untyped error; each must now load and run, or raise a typed error,
on the default backends. The case that found it is named in each id (seed/case)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import gossamer
from gossamer import MemoryBudgetError, NodeExecutionError, RunTimeoutError
from tests.conftest import make_model, tensor_info

X = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)


def _one(op: str, consts: dict[str, np.ndarray] | None = None, **attrs) -> bytes:
    consts = consts or {}
    node = helper.make_node(op, ["x", *consts], ["y"], **attrs)
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    model = make_model([node], [tensor_info("x", np.float32, list(X.shape))], [tensor_info("y")])
    model.graph.initializer.extend(inits)
    return model.SerializeToString()


def _load_and_run(model: bytes, feeds: dict | None = None, backends=None) -> list:
    sess = gossamer.load(model, backends=backends)
    return sess.run(None, {"x": X} if feeds is None else feeds, timeout=10)


W = np.random.default_rng(1).standard_normal((4, 3, 2, 2)).astype(np.float32)
BAD = "typed error"  # the window cannot exist: OpArgumentError from the spec's geometry
WINDOW_CASES = [
    ("MaxPool", {}, {"kernel_shape": [2, 2], "dilations": [2**31, 2**31], "auto_pad": "SAME_UPPER"},
     BAD, "head/2215 SIGFPE"),
    ("MaxPool", {}, {"kernel_shape": [3, 2**63 - 1]}, BAD, "head/1256 SIGSEGV"),
    ("MaxPool", {}, {"kernel_shape": [2**32, 2**32], "auto_pad": "SAME_UPPER"}, BAD,
     "head/1140 SIGBUS"),
    ("MaxPool", {}, {"kernel_shape": [2, 2], "strides": [2**63 - 1] * 2, "auto_pad": "SAME_UPPER"},
     (2, 3, 1, 1), "head/1634 hang in C"),
    ("MaxPool", {}, {"kernel_shape": [2, 2], "strides": [2**32, 2**32], "auto_pad": "SAME_LOWER"},
     (2, 3, 1, 1), "autopad/137 SIGSEGV"),
    ("Conv", {"w": W}, {"strides": [2**40, 2**40], "auto_pad": "SAME_LOWER"}, (2, 4, 1, 1),
     "autopad/49 SIGSEGV"),
    ("Conv", {"w": W}, {"strides": [2**31, 2**31], "auto_pad": "VALID"}, (2, 4, 1, 1),
     "autopad/118 SIGFPE"),
    ("Conv", {"w": W}, {"dilations": [2**32, 2**32]}, BAD, "autopad/177 work-buffer MemoryError"),
    ("MaxPool", {}, {"kernel_shape": [3, 1_000_000], "pads": [1, 500_000, 1, 500_000]},
     (2, 3, 8, 9), "seed1/9950 19 s on the reference"),
]  # fmt: skip


@pytest.mark.parametrize("backends", [None, []], ids=["default", "reference"])
@pytest.mark.parametrize(
    "op, consts, attrs, expected", [c[:4] for c in WINDOW_CASES], ids=[c[4] for c in WINDOW_CASES]
)
def test_extreme_window_attributes_run_or_raise_a_typed_error(
    op, consts, attrs, expected, backends
):
    model = _one(op, consts, **attrs)
    if expected == BAD:
        with pytest.raises(NodeExecutionError, match=f"{op}.*OpArgumentError") as info:
            _load_and_run(model, backends=backends)
        assert "backend 'cython' failed" not in str(info.value)
    else:
        (y,) = _load_and_run(model, backends=backends)
        assert y.shape == expected
        (want,) = _load_and_run(model, backends=[])
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


def _value_sized(op: str, consts: dict[str, np.ndarray], **attrs) -> bytes:
    """A node whose output size is set by the values of its constant inputs."""
    node = helper.make_node(op, list(consts), ["y"], **attrs)
    model = make_model([node], [], [tensor_info("y")])
    model.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in consts.items())
    return model.SerializeToString()


I64 = np.int64
SIZED_BY_VALUES = [
    ("Tile", {"e": np.ones((2, 2), np.float32), "r": np.array([2**31 - 1, 1], I64)}, "head/241"),
    ("Range", {"a": np.array(0, I64), "b": np.array(2**32, I64), "c": np.array(1, I64)},
     "head/1172"),
    ("ConstantOfShape", {"s": np.array([2**40, 1], I64)}, "head/1340"),
    ("Expand", {"c": np.ones((2, 1), np.float32), "s": np.array([2, 2**32], I64)}, "head/1799"),
    ("Pad", {"p": np.ones((2, 4), np.float32), "q": np.array([0, 0, 10**6, 10**6], I64)},
     "head/1090"),
]  # fmt: skip


@pytest.mark.parametrize(
    "op, consts", [c[:2] for c in SIZED_BY_VALUES], ids=[c[2] for c in SIZED_BY_VALUES]
)
def test_outputs_sized_by_constant_values_are_refused_at_load(op, consts):
    with pytest.raises(MemoryBudgetError, match="tensor 'y' of shape"):
        gossamer.load(_value_sized(op, consts), max_memory="1G")


def test_reshape_to_2_32_rows_is_a_typed_error_not_an_allocation():  # head/31
    consts = {"d": np.ones(24, np.float32), "s": np.array([2**32, 12, -1], I64)}
    sess = gossamer.load(_value_sized("Reshape", consts))
    with pytest.raises(NodeExecutionError, match="Reshape.*OpArgumentError"):
        sess.run(None, {})


def test_resize_to_2_32_is_refused_at_load_without_overflow():  # head/106
    scales = numpy_helper.from_array(np.array([], np.float32), "scales")
    sizes = numpy_helper.from_array(np.array([2, 3, 2**32, 2**32], I64), "sizes")
    model = make_model(
        [helper.make_node("Resize", ["x", "", "scales", "sizes"], ["y"])],
        [tensor_info("x", np.float32, list(X.shape))], [tensor_info("y")], [scales, sizes],
    )  # fmt: skip
    with pytest.raises(MemoryBudgetError, match="tensor 'y' of shape \\[2, 3, 4294967296"):
        gossamer.load(model.SerializeToString())


def test_gru_with_hidden_size_2_31_is_refused_at_load():  # head GRU case
    w = numpy_helper.from_array(np.zeros((1, 12, 3), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 12, 4), np.float32), "R")
    model = make_model(
        [helper.make_node("GRU", ["x", "W", "R"], ["y"], hidden_size=2**31)],
        [tensor_info("x", np.float32, [5, 1, 3])], [tensor_info("y")], [w, r],
    )  # fmt: skip
    with pytest.raises(MemoryBudgetError, match="2147483648"):
        gossamer.load(model.SerializeToString())


def test_loop_with_2_31_trips_stops_at_the_run_timeout():  # seed2/58, seed1/967
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]),
         helper.make_node("Add", ["acc", "acc"], ["acc_out"])],
        "body",
        [tensor_info("i", np.int64, []), tensor_info("c", np.bool_, []),
         tensor_info("acc", np.float32, [1])],
        [tensor_info("c_out", np.bool_, []), tensor_info("acc_out", np.float32, [1])],
    )  # fmt: skip
    inits = [helper.make_tensor("m", TensorProto.INT64, [], [2**31]),
             helper.make_tensor("t", TensorProto.BOOL, [], [True])]  # fmt: skip
    model = make_model(
        [helper.make_node("Loop", ["m", "t", "x"], ["y"], body=body)],
        [tensor_info("x", np.float32, [1])], [tensor_info("y")], inits,
    ).SerializeToString()  # fmt: skip
    with pytest.raises(RunTimeoutError):
        gossamer.load(model).run(None, {"x": np.ones(1, np.float32)}, timeout=0.2)
