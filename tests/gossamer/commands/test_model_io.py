"""convert, export, optimize write the format the -o extension names; view says where it serves."""

import sys
import types
import webbrowser

import numpy as np
import onnx
import pytest
from gossamer.refimpl.model_format import MAGIC

import gossamer
from gossamer.cli import main


def _kind(path):
    return "gsm" if path.read_bytes()[: len(MAGIC)] == MAGIC else "onnx"


@pytest.mark.parametrize("command", ["convert", "export", "optimize"])
@pytest.mark.parametrize("suffix", ["gsm", "onnx", "ONNX"])
def test_the_output_extension_names_the_format(command, suffix, tmp_path, model_path, capsys):
    out = tmp_path / f"m.{suffix}"
    assert main([command, str(model_path), "-o", str(out)]) == 0
    assert _kind(out) == suffix.lower()
    assert f"wrote {out}" in capsys.readouterr().out
    if suffix != "gsm":
        onnx.checker.check_model(str(out), full_check=True)
    x = np.array([[-1, 2, -3, 4]], np.float32)
    np.testing.assert_array_equal(gossamer.load(out).run(None, {"x": x})[0], np.maximum(2 * x, 0))


@pytest.mark.parametrize("command", ["convert", "export", "optimize"])
def test_an_unknown_extension_is_refused_before_reading_the_model(command, tmp_path, capsys):
    out = tmp_path / "m.bin"
    assert main([command, str(tmp_path / "missing.onnx"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "use one of .gsm (Gossamer .gsm), .onnx (ONNX)" in err and not out.exists()


def test_convert_with_O_writes_the_optimised_graph(tmp_path, cnn_path):
    plain, fused = tmp_path / "plain.gsm", tmp_path / "fused.gsm"
    assert main(["convert", str(cnn_path), "-o", str(plain), "-O", "0"]) == 0
    assert main(["convert", str(cnn_path), "-o", str(fused), "-O", "2"]) == 0
    n_plain = len(gossamer.load(plain, optimize=0).graph.nodes)
    assert len(gossamer.load(fused, optimize=0).graph.nodes) < n_plain


@pytest.mark.parametrize("level, fused", [(0, False), (2, True)])
def test_convert_defaults_to_the_default_optimisation_level(
    level, fused, monkeypatch, tmp_path, cnn_path
):
    monkeypatch.setattr(gossamer.session, "DEFAULT_OPTIMIZE", level)
    out = tmp_path / "m.gsm"
    assert main(["convert", str(cnn_path), "-o", str(out)]) == 0
    nodes = gossamer.load(out, optimize=0).graph.nodes
    assert any(n.op_type.startswith("Fused") for n in nodes) is fused


def test_export_writes_the_graph_as_written(tmp_path, cnn_path):
    out = tmp_path / "m.onnx"
    assert main(["export", str(cnn_path), "-o", str(out)]) == 0
    assert [n.op_type for n in onnx.load(str(out)).graph.node] == [
        n.op_type for n in onnx.load(str(cnn_path)).graph.node
    ]


def test_an_optimised_onnx_file_runs_in_onnxruntime(tmp_path, cnn_path):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "fused.onnx"
    assert main(["convert", str(cnn_path), "-o", str(out), "-O3"]) == 0
    assert "gossamer" in {n.domain for n in onnx.load(str(out)).graph.node}
    x = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    (want,) = gossamer.load(cnn_path, optimize=0).run(None, {"image": x})
    (got,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"image": x}
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_optimize_to_onnx_keeps_its_report(tmp_path, cnn_path, capsys):
    out = tmp_path / "o.onnx"
    assert main(["optimize", str(cnn_path), "-o", str(out), "-O2"]) == 0
    text = capsys.readouterr().out
    assert "activation_fusion" in text and "passes onnx.checker" in text
    assert {n.domain for n in onnx.load(str(out)).graph.node} >= {"gossamer"}


def test_optimize_passes_runs_the_named_passes_only(tmp_path, cnn_path, capsys):
    out = tmp_path / "o.gsm"
    assert main(["optimize", str(cnn_path), "-o", str(out), "--passes", "noop_removal"]) == 0
    text = capsys.readouterr().out
    assert "noop_removal" in text and "activation_fusion" not in text


# ---- view ----------------------------------------------------------------------------------------
@pytest.fixture
def fake_netron(monkeypatch):
    calls = []
    module = types.ModuleType("netron")

    def start(path, address=None, browse=True):
        calls.append({"path": path, "address": address, "browse": browse})
        return address or ("localhost", 8080)

    module.start = start
    module.wait = lambda: None
    monkeypatch.setitem(sys.modules, "netron", module)
    return calls


def test_view_no_browser_prints_the_url(model_path, fake_netron, capsys):
    assert main(["view", str(model_path), "--no-browser", "--port", "9123"]) == 0
    assert f"serving {model_path} at http://localhost:9123" in capsys.readouterr().out
    assert fake_netron[0]["browse"] is False


def test_view_without_a_browser_says_what_to_open(model_path, fake_netron, monkeypatch, capsys):
    def no_browser(*args):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    assert main(["view", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "no web browser found: open http://localhost:8080" in out
    assert fake_netron[0]["browse"] is False


def test_view_of_a_missing_file_says_so_before_asking_for_netron(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "netron", None)
    assert main(["view", str(tmp_path / "nope.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
