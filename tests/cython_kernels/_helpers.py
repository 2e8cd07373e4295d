"""Build one-node ONNX models and run them on the cython backend and on the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

import gossamer


def one_node(
    op: str,
    inputs: dict[str, np.ndarray],
    constants: dict[str, np.ndarray] | None = None,
    n_outputs: int = 1,
    domain: str = "",
    opset: int = 17,
    **attrs: Any,
) -> bytes:
    """A model of one `op` node reading `inputs` (graph inputs) then `constants` (initializers)."""
    constants = constants or {}
    names = list(inputs) + list(constants)
    outs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op, names, outs, domain=domain, **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in constants.items()],
    )  # fmt: skip
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def run_both(model: bytes, feeds: dict[str, np.ndarray], threads: int) -> tuple[list, list, Any]:
    """(cython outputs, reference outputs, cython session placement)."""
    ours = gossamer.load(model, backends=["cython"], threads=threads)
    ref = gossamer.load(model, backends=[])
    return ours.run(None, feeds), ref.run(None, feeds), ours.placement


def assert_on_cython(placement: Any) -> None:
    assert set(placement.backend_of.values()) == {"cython"}, placement.declined


def assert_close(ours: list, ref: list, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


class CountedExt:
    """ext() with the calls of its function `name` that ran (returned true: the level has the
    kernel and took the call) counted in `calls`: monkeypatch it in for a module's `ext`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def __getattr__(self, attr: str):  # noqa: ANN204
        from gossamer.cython_kernels._native import ext

        real = getattr(ext(), attr)
        if attr != self.name:
            return real

        def counted(*args, **kwargs):  # noqa: ANN202
            done = real(*args, **kwargs)
            self.calls += bool(done)
            return done

        return counted
