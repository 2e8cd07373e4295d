"""The float graph the quantisers start from: opset 17, folded, standard ops only."""

import numpy as np
import pytest
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.runner import reference_runner

from gossamer.session import read_model


@pytest.mark.models
def test_an_old_opset_model_is_upgraded_and_folded_into_standard_ops(models_dir):
    graph = read_model(models_dir / "ppocr_mobile_v2_cls.onnx")  # opset 11
    prepared = prepare_float_graph(graph)
    ops = {n.op_type for n in prepared.nodes}
    assert prepared.opsets[""] >= 17
    assert all(n.domain in ("", "ai.onnx") for n in prepared.nodes)
    assert "HardSwish" in ops and "BatchNormalization" not in ops and "Constant" not in ops
    x = np.random.default_rng(0).random((1, 3, 48, 96)).astype(np.float32)
    (before,) = reference_runner(graph)({"x": x}, [])
    (after,) = reference_runner(prepared)({"x": x}, [])
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-5)
    assert graph.opsets[""] == 11  # the input graph is left as it was
