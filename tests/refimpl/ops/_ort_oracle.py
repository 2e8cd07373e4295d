"""One com.microsoft node run on the reference op and on onnxruntime (the oracle), side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
from gossamer.refimpl.registry import default_registry


def run_both(
    op: str,
    inputs: list[np.ndarray | None],
    attrs: dict[str, Any] | None = None,
    outputs: int = 1,
    const: tuple[int, ...] = (),
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(reference outputs, onnxruntime outputs) of one com.microsoft node; inputs listed in
    `const` are initializers (onnxruntime prepacks constant weights). onnxruntime runs on one
    thread: with more it splits DynamicQuantizeLSTM's batch and quantises each slice apart."""
    import pytest

    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import helper, numpy_helper

    attrs = attrs or {}
    names, feeds, infos, inits = [], {}, [], []
    for i, value in enumerate(inputs):
        if value is None:
            names.append("")
            continue
        names.append(f"x{i}")
        if i in const:
            inits.append(numpy_helper.from_array(np.asarray(value), f"x{i}"))
        else:
            feeds[f"x{i}"] = value
            dtype = helper.np_dtype_to_tensor_dtype(value.dtype)
            infos.append(helper.make_tensor_value_info(f"x{i}", dtype, value.shape))
    outs = [f"y{k}" for k in range(outputs)]
    node = helper.make_node(op, names, outs, domain="com.microsoft", **attrs)
    graph = helper.make_graph([node], op, infos, [onnx.ValueInfoProto(name=o) for o in outs], inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    theirs = session.run(None, feeds)
    ours = default_registry().resolve("com.microsoft", op, 1)(*inputs, **attrs)
    return list(ours) if isinstance(ours, tuple) else [ours], theirs


def ints(rng: np.random.Generator, dtype: Any, shape: Any, low: int | None = None,
         high: int | None = None) -> np.ndarray:  # fmt: skip
    """Integers of dtype over [low, high] (default: the whole type)."""
    info = np.iinfo(dtype)
    lo = int(info.min) if low is None else low
    hi = int(info.max) if high is None else high
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def weights(rng: np.random.Generator, dtype: Any, shape: Any) -> np.ndarray:
    """Weights onnxruntime multiplies exactly: int8 within +-63 (reduce_range), as its uint8 x
    int8 kernels on x86 without VNNI saturate each pair of products at int16 (vpmaddubsw)."""
    if np.dtype(dtype) == np.int8:
        return ints(rng, dtype, shape, -63, 63)
    return ints(rng, dtype, shape)
