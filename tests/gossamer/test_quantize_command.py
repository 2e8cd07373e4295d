"""`gossamer quantize` and gossamer.quantize(): every mode writes a model that loads and runs;
bad calibration data and bad options exit 2 with one line on stderr."""

import json

import numpy as np
import pytest

import gossamer
from gossamer.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::gossamer.PerformanceWarning")


@pytest.fixture
def calib(tmp_path):
    """4 samples for the tiny CNN's image input, in the batch form (its batch is symbolic)."""
    path = tmp_path / "calib.npz"
    x = np.random.default_rng(0).random((4, 3, 64, 64)).astype(np.float32)
    np.savez(path, image=x)
    return path


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _runs(path):
    sess = gossamer.load(path, optimize=0)
    x = np.random.default_rng(1).random((1, 3, 64, 64)).astype(np.float32)
    (probs,) = sess.run(None, {"image": x})
    assert probs.shape == (1, 10) and np.isfinite(probs).all()


@pytest.mark.parametrize("suffix", [".onnx", ".gsm"])
def test_static_writes_a_model_that_runs_and_a_report(cnn_path, calib, tmp_path, capsys, suffix):
    out = tmp_path / f"q{suffix}"
    report = tmp_path / "r.json"
    code, text, err = _run(
        ["quantize", cnn_path, "-o", out, "--calibration", calib, "--method", "percentile",
         "--per-channel", "--bias-correction", "--report", report],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "node" in text and "SQNR dB" in text and f"wrote {out}" in text
    _runs(out)
    data = json.loads(report.read_text())
    assert data["mode"] == "static" and data["settings"]["bias_correction"] is True
    assert data["layers"] and all(row["cosine"] > 0.9 for row in data["layers"])


@pytest.mark.parametrize("equalize", ["--equalize", "--no-equalize"])
def test_mse_method_and_equalisation_switch(cnn_path, calib, tmp_path, capsys, equalize):
    out, report = tmp_path / "q.onnx", tmp_path / "r.json"
    code, _, err = _run(
        ["quantize", cnn_path, "-o", out, "--calibration", calib, "--method", "mse", equalize,
         "--report", report],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    _runs(out)
    settings = json.loads(report.read_text())["settings"]
    assert settings["method"] == "mse" and settings["equalize"] is (equalize == "--equalize")


def test_markdown_report_and_plot(cnn_path, calib, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    md, png = tmp_path / "r.md", tmp_path / "r.png"
    code, _, err = _run(
        ["quantize", cnn_path, "-o", tmp_path / "q.onnx", "--calibration", calib, "--report",
         md, "--plot", png, "--top", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert md.read_text().startswith("# Quantisation report (static)")
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv",
    [
        ["--mode", "dynamic"],
        ["--mode", "weight", "--bits", "4"],
        ["--mode", "fp16"],
    ],
)
def test_other_modes_write_models_that_run(cnn_path, tmp_path, capsys, argv):
    out = tmp_path / "q.onnx"
    code, text, err = _run(["quantize", cnn_path, "-o", out, *argv], capsys)
    assert code == 0, err
    assert f"wrote {out}" in text
    _runs(out)


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (lambda x: {"image": np.full_like(x, np.nan)}, [], "sample 0 holds NaN"),
        (lambda x: {"pixels": x}, [], "no array for model input(s) ['image']"),
        (lambda x: {"image": x[:, :, :32]}, [], "axis 2 must be 64"),
        (lambda x: {"image": x.astype(np.float64)}, [], "dtype float64"),
        (lambda x: {"image": x[:0]}, [], "holds no samples"),
    ],
)
def test_bad_calibration_data_exits_2_with_one_line(cnn_path, tmp_path, capsys, make, extra,
                                                     message):  # fmt: skip
    x = np.random.default_rng(0).random((2, 3, 64, 64)).astype(np.float32)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **make(x))
    code, out, err = _run(
        ["quantize", cnn_path, "-o", tmp_path / "q.onnx", "--calibration", bad, *extra], capsys
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gossamer quantize: error:"), err
    assert message in lines[0]
    assert not (tmp_path / "q.onnx").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "needs calibration data"),
        (["--calibration", "{calib}", "--skip", "nope"], "names no node"),
        (["--calibration", "{calib}", "--target-cosine", "2"], "target cosine"),
        (["--calibration", "{calib}", "--report", "r.txt"], "use a .md or .json"),
        (["--calibration", "{missing}"], "does not exist"),
        (["--mode", "weight", "--calibration", "{calib}"], "--calibration is for"),
        (["--mode", "weight", "--bits", "0"], "bits"),
    ],
)
def test_bad_options_exit_2_with_one_line(cnn_path, calib, tmp_path, capsys, argv, message):
    argv = [a.format(calib=calib, missing=tmp_path / "none.npz") for a in argv]
    code, _, err = _run(["quantize", cnn_path, "-o", tmp_path / "q.onnx", *argv], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err


def test_python_api_returns_graph_and_report(cnn_path, calib, tmp_path):
    result = gossamer.quantize(cnn_path, tmp_path / "q.gsm", calibration=calib, method="kl")
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in result.graph.nodes}
    assert result.report.settings["method"] == "kl"
    assert (tmp_path / "q.gsm").exists()
    with pytest.raises(gossamer.InputError, match="mode"):
        gossamer.quantize(cnn_path, mode="int3")


@pytest.mark.models
def test_static_real_model_output_runs_in_onnxruntime(models_dir, tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    calib = tmp_path / "c.npz"
    x = np.random.default_rng(0).random((6, 1, 24, 24, 3)).astype(np.float32)
    np.savez(calib, input_2=x)
    out = tmp_path / "rnet.int8.onnx"
    code, _, err = _run(
        ["quantize", models_dir / "mtcnn_rnet.onnx", "-o", out, "--calibration", calib,
         "--per-channel", "--reduce-range"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    feed = {"input_2": x[0]}
    theirs = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, feed)
    ours = gossamer.load(out, optimize=0).run(None, feed)
    for a, b in zip(ours, theirs):
        assert np.abs(a - b).max() <= (a.max() - min(0.0, a.min())) / 255


def test_a_folder_of_images_calibrates_with_preprocess(cnn_path, tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):  # different sizes: --preprocess (or the input's fixed dims) sizes them
        pixels = rng.integers(0, 256, (40 + 10 * i, 50, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "q.onnx"
    code, text, err = _run(
        ["quantize", cnn_path, "-o", out, "--calibration", folder, "--preprocess",
         "size=64x64,mean=0.5,std=0.25"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    _runs(out)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(["quantize", cnn_path, "-o", out, "--calibration", empty], capsys)
    assert code == 2 and "holds no images" in err
