"""`gossamer export MODEL --format tflite -o OUT`: the file LiteRT runs, and one-line errors with
exit status 2."""

from __future__ import annotations

import numpy as np
import pytest

from gossamer.builtin_models import mobilenet_v2
from gossamer.cli import main
from gossamer.session import read_model
from tests.converter.tflite_export.helpers import random_feeds, run_gossamer, run_litert
from tests.converter.tflite_export.int8_models import cnn_model


@pytest.fixture
def onnx_model(tmp_path):
    path = tmp_path / "mnv2.onnx"
    path.write_bytes(mobilenet_v2(size=32).SerializeToString())
    return path


def test_export_writes_a_tflite_file_litert_runs_as_gossamer_runs_the_model(
    tmp_path, onnx_model, capsys
):
    out = tmp_path / "m.tflite"
    assert main(["export", str(onnx_model), "--format", "tflite", "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    graph = read_model(onnx_model)
    feeds = random_feeds(graph, np.random.default_rng(0))
    want, got = run_gossamer(graph, feeds), run_litert(out.read_bytes(), feeds)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-4)


def test_the_tflite_extension_picks_the_format_and_nhwc_io_lays_the_input_out_nhwc(
    tmp_path, onnx_model
):
    out = tmp_path / "m.tflite"
    assert main(["export", str(onnx_model), "-o", str(out), "--nhwc-io"]) == 0
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    it = litert.Interpreter(model_content=out.read_bytes())
    assert list(it.get_input_details()[0]["shape"]) == [1, 32, 32, 3]


def test_an_int8_tflite_model_round_trips_through_the_command(tmp_path):
    src, out = tmp_path / "int8.tflite", tmp_path / "again.tflite"
    src.write_bytes(cnn_model())
    assert main(["export", str(src), "-o", str(out)]) == 0
    feeds = random_feeds(read_model(src), np.random.default_rng(1))
    want, got = run_litert(src.read_bytes(), feeds), run_litert(out.read_bytes(), feeds)
    assert all(np.array_equal(want[k], got[k]) for k in want)


def test_shape_fixes_dynamic_dims(tmp_path):
    model = mobilenet_v2(size=32)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_param = "W"
    src, out = tmp_path / "dyn.onnx", tmp_path / "m.tflite"
    src.write_bytes(model.SerializeToString())
    name = model.graph.input[0].name
    assert main(["export", str(src), "-o", str(out), "--shape", f"{name}=1,3,32,32"]) == 0
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("extra, message", [
    ([], "dynamic height / width"),
    (["--shape", "nope=1,3,32,32"], "not inputs of the graph"),
])  # fmt: skip
def test_errors_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    model = mobilenet_v2(size=32)
    for k in (2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[k].dim_param = "HW"[k - 2]
    src = tmp_path / "dyn.onnx"
    src.write_bytes(model.SerializeToString())
    assert main(["export", str(src), "-o", str(tmp_path / "m.tflite"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_format_that_contradicts_the_extension_is_refused(tmp_path, onnx_model, capsys):
    assert main(["export", str(onnx_model), "--format", "gsm", "-o", str(tmp_path / "m.onnx")]) == 2
    assert "--format gsm writes a .gsm file" in capsys.readouterr().err
