"""`gossamer convert / run / info / dump / explain / compare / benchmark` on .tflite files (a
generated CONV_2D + ADD model, and a shared MediaPipe model when it is cached)."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.cli import main  # noqa: E402
from tests.converter.tflite_models import FLOAT32, Op, Spec, T, build_model  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")
BuiltinOperator = pytest.importorskip("tflite").BuiltinOperator

INPUT, OUTPUT = "serving_default_x:0", "StatefulPartitionedCall:0"
MODELS = Path.home() / ".cache" / "gossamer" / "models"


@pytest.fixture(scope="module")
def tflite_path(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    c = rng.standard_normal((1, 1, 1, 4)).astype(np.float32)
    spec = Spec(
        [T(INPUT, FLOAT32, (1, 8, 8, 3)), T("w", FLOAT32, w.shape, w), T("b", FLOAT32, (4,), b),
         T("conv", FLOAT32, (1, 8, 8, 4)), T("c", FLOAT32, c.shape, c),
         T(OUTPUT, FLOAT32, (1, 8, 8, 4))],
        [Op(BuiltinOperator.CONV_2D, [0, 1, 2], [3],
            ("Conv2DOptions", {"padding": 0, "stride_w": 1, "stride_h": 1,
                               "fused_activation_function": 1})),
         Op(BuiltinOperator.ADD, [3, 4], [5])],
        [0], [5],
    )  # fmt: skip
    path = tmp_path_factory.mktemp("tflite") / "conv_add.tflite"
    path.write_bytes(build_model(spec))
    return path


def _litert(path: Path, x: np.ndarray) -> np.ndarray:
    it = litert.Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


def _feed(tmp_path: Path) -> tuple[np.ndarray, str]:
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x, f"{INPUT}={tmp_path / 'x.npy'}"


def test_run_feeds_litert_names_and_matches_litert(tflite_path, tmp_path, capsys):
    x, feed = _feed(tmp_path)
    assert main(["run", str(tflite_path), "-i", feed, "-o", str(tmp_path / "o.npz")]) == 0
    assert f"{OUTPUT}: float32[1, 8, 8, 4]" in capsys.readouterr().out
    ours = np.load(tmp_path / "o.npz")[OUTPUT]
    np.testing.assert_allclose(ours, _litert(tflite_path, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".gsm", ".onnx"])
def test_convert_then_run_gives_the_same_outputs(tflite_path, tmp_path, suffix):
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    x, feed = _feed(tmp_path)
    out = tmp_path / f"m{suffix}"
    assert main(["convert", str(tflite_path), "-o", str(out)]) == 0
    for model, npz in ((tflite_path, "a.npz"), (out, "b.npz")):
        assert main(["run", str(model), "-i", feed, "-o", str(tmp_path / npz)]) == 0
    a, b = np.load(tmp_path / "a.npz")[OUTPUT], np.load(tmp_path / "b.npz")[OUTPUT]
    np.testing.assert_array_equal(a, b)


def test_info_lists_tflite_names_and_ops(tflite_path, capsys):
    assert main(["info", str(tflite_path)]) == 0
    out = capsys.readouterr().out
    assert INPUT in out and OUTPUT in out and "Conv" in out


def test_dump_writes_every_tensor_under_its_tflite_name(tflite_path, tmp_path):
    _, feed = _feed(tmp_path)
    out = tmp_path / "dump"
    assert main(["dump", str(tflite_path), "-i", feed, "-o", str(out)]) == 0
    index = json.loads((out / "index.json").read_text())
    names = {o["name"] for e in index for o in e["outputs"]}
    assert {INPUT, "conv", OUTPUT} <= names


def test_explain_names_a_backend_per_node(tflite_path, capsys):
    assert main(["explain", str(tflite_path), "--summary"]) == 0
    assert "summary:" in capsys.readouterr().out


def test_compare_against_litert_agrees(tflite_path, tmp_path, capsys):
    code = main(["compare", str(tflite_path), "--against", "litert", "--random", "--json",
                 "-o", str(tmp_path / "repro")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out


def test_benchmark_times_a_tflite_model(tflite_path, capsys):
    args = ["benchmark", str(tflite_path), "--random", "--loops", "2", "--warmup", "1", "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["latency_ms"]["p50"] > 0


def test_unsupported_op_is_one_line_and_exit_2(tmp_path, capsys):
    spec = Spec([T("x", FLOAT32, (1, 4)), T("y", FLOAT32, (1, 4))],
                [Op("SomeCustomOp", [0], [1])], [0], [1])  # fmt: skip
    path = tmp_path / "custom.onnx"  # the name does not matter: detected by content
    path.write_bytes(build_model(spec))
    assert main(["run", str(path), "--random"]) == 2
    err = capsys.readouterr().err.strip()
    assert "SomeCustomOp" in err and "Traceback" not in err


@pytest.mark.skipif(
    not (MODELS / "mp_face_detection_short_range.tflite").exists(),
    reason="shared model mp_face_detection_short_range.tflite not cached",
)
def test_shared_model_through_the_cli(tmp_path, capsys):
    path = str(MODELS / "mp_face_detection_short_range.tflite")
    assert main(["info", path]) == 0
    assert main(["run", path, "--random", "-o", str(tmp_path / "o.npz")]) == 0
    assert set(np.load(tmp_path / "o.npz")) == {"regressors", "classificators"}
    capsys.readouterr()
    assert main(["compare", path, "--against", "litert", "--random", "--json",
                 "-o", str(tmp_path / "repro")]) == 0  # fmt: skip
