"""`gossamer compile MODEL --backends ethos-u -o m_vela.tflite`: an ONNX model goes quantize ->
compile -> the file an Ethos-U board runs (NPU work as ethos-u custom ops, the rest as TFLite
builtins); errors are one line and exit 2. Skipped where Vela is not installed."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.tflite.reader import read_tflite

from gossamer.cli import main
from gossamer.commands.compile import deploying_backends

pytestmark = pytest.mark.filterwarnings("ignore::gossamer.PerformanceWarning")


def _ethos_u():
    backend = deploying_backends().get("ethos-u")
    why = "the ethos-u backend is not installed" if backend is None else backend.is_available()
    if why:
        pytest.skip(why)


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def int8_cnn(cnn_path, tmp_path, capsys):
    """The tiny CNN quantised by `gossamer quantize --mode static`."""
    calib = tmp_path / "calib.npz"
    np.savez(calib, image=np.random.default_rng(0).random((4, 3, 64, 64)).astype(np.float32))
    out = tmp_path / "cnn_int8.onnx"
    code, _, err = _run(["quantize", cnn_path, "--mode", "static", "--calibration", calib,
                         "-o", out, "--no-progress"], capsys)  # fmt: skip
    assert code == 0, err
    return out


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in ("ACCELERATOR", "SYSTEM_CONFIG", "MEMORY_MODE", "CLOCK"):
        monkeypatch.delenv(f"GOSSAMER_ETHOSU_{name}", raising=False)
    monkeypatch.setenv("GOSSAMER_CACHE_DIR", str(tmp_path / "cache"))


def test_quantized_onnx_compiles_to_ethos_u_custom_ops_and_cpu_builtins(int8_cnn, tmp_path, capsys):
    _ethos_u()
    out = tmp_path / "cnn_vela.tflite"
    code, text, err = _run(["compile", int8_cnn, "--backends", "ethos-u", "-o", out], capsys)
    assert code == 0, err
    assert f"wrote {out}" in text and "ethos-u55-128" in text  # Vela's summary, printed
    assert "SRAM used" in text and "estimated NPU time" in text
    ops = [op.opcode for op in read_tflite(out.read_bytes()).subgraphs[0].operators]
    assert ops.count("ethos-u") >= 1
    assert {"QUANTIZE", "DEQUANTIZE"} <= set(ops)  # the float ends stay on the Cortex-M
    assert "ethos-u custom op" in text and "QUANTIZE" in text

    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(out))  # the flatbuffer parses
    assert [d["dtype"] for d in interpreter.get_input_details()] == [np.float32]
    with pytest.raises(RuntimeError, match="ethos-u"):  # only a board (TFLM + driver) runs it
        interpreter.allocate_tensors()


def test_accelerator_option_targets_another_npu(int8_cnn, tmp_path, capsys):
    _ethos_u()
    out = tmp_path / "u65.tflite"
    argv = ["compile", int8_cnn, "--backends", "ethos-u", "-o", out,
            "--accelerator", "ethos-u65-256", "--clock", "1GHz"]  # fmt: skip
    code, text, err = _run(argv, capsys)
    assert code == 0, err
    assert "ethos-u65-256 (Ethos_U65_High_End, Dedicated_Sram, 1000 MHz)" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--accelerator", "ethos-u99"], "ethos-u option accelerator='ethos-u99' is not an"),
        (["--memory-mode", "Nowhere"], "ethos-u option memory_mode='Nowhere' is not in Vela"),
        (["--clock", "fast"], "ethos-u option clock='fast'"),
    ],
)
def test_bad_target_options_are_one_line(int8_cnn, tmp_path, capsys, extra, message):
    _ethos_u()
    argv = ["compile", int8_cnn, "--backends", "ethos-u", "-o", tmp_path / "m.tflite", *extra]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_float_model_is_refused_with_the_quantize_hint(cnn_path, tmp_path, capsys):
    _ethos_u()
    argv = ["compile", cnn_path, "--backends", "ethos-u", "-o", tmp_path / "m.tflite"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and "gossamer quantize MODEL --mode static" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "m.tflite").exists()


@pytest.mark.parametrize(
    ("backends", "message"),
    [
        ("cython", "backend 'cython' runs models but writes no deployable file"),
        ("nonesuch", "--backends nonesuch: no such backend"),
        ("ethos-u,cython", "name exactly one backend"),
    ],
)
def test_a_backend_that_cannot_deploy_is_named(cnn_path, tmp_path, capsys, backends, message):
    argv = ["compile", cnn_path, "--backends", backends, "-o", tmp_path / "m.tflite"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    if deploying_backends():
        assert "backends that can deploy: " in err
