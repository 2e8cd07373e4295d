"""Loading an optimised .gsm in a fresh process pays only for what the model runs: the op registry
trusts its index (no scan of the op folder), the gradients stay unimported, the placement report
is built only when a node fell back to the reference, and the geometry helpers a kernel table
needs do not pull in those of other ops. (The fallbacks of each shortcut are tested beside the
code: tests/refimpl/test_op_index_trust.py, tests/plugins/test_entry_point_cache.py,
tests/gossamer/test_load_skips_reoptimising.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize
from gossamer.cython_kernels._native import IMPORT_ERROR
from gossamer.refimpl.model_format import save_gsm

from tests.conftest import matmul_relu_graph
from tests.gossamer.test_lazy_imports import imported_after

NOT_FOR_A_FULLY_ACCELERATED_MODEL = [
    "pkgutil",  # the op registry's scan
    "gossamer.refimpl.grad",
    "gossamer.plugins.placement_report",
    "gossamer.refimpl.ops._resample_run",  # resize geometry (op_geometry imports it on use)
    "gossamer.refimpl.ops.op_conv_transpose",
]


def _saved_model(tmp_path):  # type: ignore[no-untyped-def]
    graph = matmul_relu_graph(bias=False)
    optimized, _ = optimize(graph, 3)
    work = tmp_path / "work"
    work.mkdir()
    save_gsm(optimized, work / "m.gsm")
    return graph, work


@pytest.mark.skipif(IMPORT_ERROR is not None, reason="the cython backend is not built here")
def test_a_model_run_by_one_backend_imports_no_scan_gradients_or_report(tmp_path):
    graph, work = _saved_model(tmp_path)
    expected = float(np.maximum(np.ones((2, 4), np.float32) @ graph.initializers["w"], 0).sum())
    code = (
        "import numpy as np, gossamer\n"
        "s = gossamer.load('m.gsm', backends=['cython'])\n"
        "assert set(s.placement.backend_of.values()) == {'cython'}, s.placement.backend_of\n"
        "y = s.run(None, {'x': np.ones((2, 4), np.float32)})[0]\n"
        f"assert np.isclose(y.sum(), {expected!r}, rtol=1e-5)\n"
    )
    found = imported_after(code, work)
    assert "gossamer.cython_kernels.gemm_kernels" in found
    assert sorted(found & set(NOT_FOR_A_FULLY_ACCELERATED_MODEL)) == []


def test_a_model_on_the_reference_still_gets_its_placement_report(tmp_path):
    _, work = _saved_model(tmp_path)
    code = (
        "import numpy as np, gossamer\n"
        "s = gossamer.load('m.gsm', backends=['reference'])\n"
        "assert s.placement_report().nodes\n"
    )
    assert "gossamer.plugins.placement_report" in imported_after(code, work)


_RECURRENT_HELPERS = {
    "gossamer.refimpl.ops._recurrent",
    "gossamer.refimpl.ops._recurrent_activations",
}


@pytest.mark.skipif(IMPORT_ERROR is not None, reason="the cython backend is not built here")
@pytest.mark.parametrize("backend", ["cython", "reference"])
def test_the_recurrent_helpers_are_imported_only_where_the_reference_runs_an_lstm(
    tmp_path, backend
):
    from tests.cython_kernels.test_rnn import rnn_model

    model, feeds = rnn_model("LSTM", 3, 1, 4, 5)
    (tmp_path / "m.onnx").write_bytes(model)
    np.savez(tmp_path / "feeds.npz", **feeds)
    code = (
        "import numpy as np, gossamer\n"
        f"s = gossamer.load('m.onnx', backends=[{backend!r}])\n"
        f"assert set(s.placement.backend_of.values()) == {{{backend!r}}}, s.placement.backend_of\n"
        "y = s.run(None, dict(np.load('feeds.npz')))[0]\n"
        "assert y.shape == (3, 1, 1, 5) and np.isfinite(y).all()\n"
    )
    found = imported_after(code, tmp_path) & _RECURRENT_HELPERS
    assert found == (set() if backend == "cython" else _RECURRENT_HELPERS)


@pytest.mark.skipif(IMPORT_ERROR is not None, reason="the cython backend is not built here")
def test_a_model_with_one_transpose_imports_no_copy_kernels(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])
    graph = helper.make_graph(
        [node],
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "m.onnx").write_bytes(model.SerializeToString())
    code = (
        "import numpy as np, gossamer\n"
        "s = gossamer.load('m.onnx', backends=['cython'])\n"
        "assert set(s.placement.backend_of.values()) == {'cython'}, s.placement.backend_of\n"
        "x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)\n"
        "assert (s.run(None, {'x': x})[0] == x.transpose(0, 2, 1)).all()\n"
    )
    found = imported_after(code, tmp_path)
    assert "gossamer.cython_kernels.layout_kernels" in found
    assert "gossamer.cython_kernels.copy_kernels" not in found
