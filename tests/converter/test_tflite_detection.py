"""Model files are told apart by content (ONNX / .gsm / TFLite), never by name, and every load
error names the format that was detected; a TFLite model lists every op not yet imported."""

import numpy as np
import pytest
from gossamer.refimpl.errors import ModelFormatError, UnsupportedModelError

import gossamer
from tests.conftest import MODELS_DIR

pytest.importorskip("tflite")

from tests.converter.tflite_models import FLOAT32, Op, Spec, T, add_model, build_model  # noqa: E402


def test_tflite_named_onnx_is_read_as_tflite(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(add_model())
    sess = gossamer.load(path, optimize=0)
    assert [v.name for v in sess.inputs] == ["serving_default_x:0"]
    (y,) = sess.run(None, {"serving_default_x:0": np.ones((1, 4), np.float32)})
    np.testing.assert_array_equal(y, [[1, 2, 3, 4]])  # x + [0, 1, 2, 3]


def test_onnx_named_tflite_is_read_as_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    path = tmp_path / "model.tflite"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    onnx.checker.check_model(str(path))
    sess = gossamer.load(path, optimize=0)
    assert [v.name for v in sess.inputs] == ["x"]


def test_tflite_bytes_are_detected():
    sess = gossamer.load(add_model(), optimize=0)
    assert [v.name for v in sess.outputs] == ["Identity"]


def test_corrupt_tflite_error_names_the_format():
    data = add_model()
    with pytest.raises(ModelFormatError, match="TFLite flatbuffer"):
        gossamer.load(data[: len(data) // 2])


def test_corrupt_onnx_error_names_the_format(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x08\x07\x12\xff\xff\xff\xff\x0f garbage")
    with pytest.raises(ModelFormatError, match="ONNX"):
        gossamer.load(path)


def test_every_unimported_op_is_listed_at_once():
    spec = Spec(
        tensors=[T("x", FLOAT32, (1, 4)), T("y", FLOAT32, (1, 4)), T("z", FLOAT32, (1, 4))],
        ops=[Op(15, [0], [1]), Op("SomeCustomOp", [1], [2]), Op(15, [2], [2])],  # LSH_PROJECTION
        inputs=[0],
        outputs=[2],
    )
    with pytest.raises(UnsupportedModelError) as err:
        gossamer.load(build_model(spec))
    message = str(err.value)
    expected = "builtin LSH_PROJECTION: 2 operator(s), e.g. subgraph 0 op 0, subgraph 0 op 2"
    assert expected in message
    assert "custom op SomeCustomOp: 1 operator(s), e.g. subgraph 0 op 1" in message
    items = {it["op_type"]: it for it in err.value.unsupported}
    assert items["LSH_PROJECTION"]["count"] == 2 and not items["LSH_PROJECTION"]["custom"]
    assert items["SomeCustomOp"]["custom"]


@pytest.mark.models
def test_shared_int8_model_s_state_ops_are_mapped():
    path = MODELS_DIR / "mww_okay_nabu_int8.tflite"
    if not path.exists():
        pytest.skip(f"{path.name} is not in {MODELS_DIR}")
    try:
        sess = gossamer.load(path)
    except UnsupportedModelError as err:  # only int8 variants may be missing, never state ops
        names = {it["op_type"] for it in err.value.unsupported}
        assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} & names
    else:
        assert len(sess.graph.state) == 6  # its streaming buffers (see test_tflite_state.py)
