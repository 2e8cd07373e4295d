"""One-node int8 models (typed graph inputs, initializers) run on cython and on the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper

import gossamer


def q_model(
    op: str,
    inputs: dict[str, np.ndarray],
    constants: dict[str, np.ndarray | None],
    domain: str = "",
    order: list[str] | None = None,
    **attrs: Any,
) -> bytes:
    """A model of one `op` node reading `inputs` (graph inputs, typed as given) then `constants`
    (None: an absent optional input), or the names in `order`."""
    names = order or list(inputs) + [k if v is not None else "" for k, v in constants.items()]
    node = helper.make_node(op, names, ["y"], domain=domain, **attrs)
    typed = [
        helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
        for k, v in inputs.items()
    ]
    inits = [onnx.numpy_helper.from_array(v, k) for k, v in constants.items() if v is not None]
    out = helper.make_tensor_value_info("y", onnx.TensorProto.UNDEFINED, None)
    graph = helper.make_graph([node], "g", typed, [out], initializer=inits)
    imports = [helper.make_opsetid("", 17)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def run_exact(model: bytes, feeds: dict[str, np.ndarray], threads: int) -> np.ndarray:
    """Runs the model on cython (asserting every node ran there, no call declined) and on the
    reference; asserts
    bit-identical outputs; returns cython's."""
    ours = gossamer.load(model, backends=["cython"], threads=threads, optimize=0)
    ref = gossamer.load(model, backends=[], optimize=0)
    assert set(ours.placement.backend_of.values()) == {"cython"}, ours.placement.declined
    (got,), (want,) = ours.run(None, feeds), ref.run(None, feeds)
    assert not ours.runtime_fallbacks, ours.runtime_fallbacks  # no call fell back at run time
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    return got
