"""run and info: -O, and FLOPs that symbolic dims leave unknown said as such."""

import numpy as np
import pytest
from onnx import helper, numpy_helper

import gossamer
from gossamer.cli import _parser, main
from tests.conftest import make_model, tensor_info


@pytest.fixture
def matmul_path(tmp_path):
    """y = x @ w, x: float32[batch, seq, 8], w: 8x16 (2*8*16 = 256 FLOPs per row)."""
    w = numpy_helper.from_array(np.ones((8, 16), np.float32), "w")
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
        [tensor_info("x", np.float32, ["batch", "seq", 8])],
        [tensor_info("y", np.float32, ["batch", "seq", 16])],
        [w],
    )
    path = tmp_path / "mm.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_info_says_flops_are_unknown_and_how_to_fix_them(matmul_path, capsys):
    assert main(["info", str(matmul_path)]) == 0
    out = capsys.readouterr().out
    assert "FLOPs:       unknown (1 node(s) without a FLOP estimate)" in out
    assert "FLOP (0)" not in out
    assert "symbolic dims batch, seq (of input(s) x)" in out
    assert "--shape x=1,64,8" in out


def test_info_shape_fixes_the_dims_and_counts_the_flops(matmul_path, capsys):
    assert main(["info", str(matmul_path), "--shape", "x=2,3,8"]) == 0
    out = capsys.readouterr().out
    assert f"({2 * 3 * 2 * 8 * 16:,})" in out and "unknown" not in out
    assert "x: float32[batch, seq, 8]  (as [2, 3, 8])" in out


def test_info_shows_the_optimised_graph_with_O(tmp_path, cnn_path, capsys):
    assert main(["info", str(cnn_path), "-O", "0"]) == 0
    plain = capsys.readouterr().out
    assert main(["info", str(cnn_path), "-O", "2"]) == 0
    fused = capsys.readouterr().out
    assert "BatchNormalization" in plain and "BatchNormalization" not in fused


def test_run_with_O_runs_the_optimised_graph(cnn_path, capsys):
    assert main(["run", str(cnn_path), "--random", "-O2"]) == 0
    fused = capsys.readouterr().out
    n_plain = len(gossamer.load(cnn_path, optimize=0).graph.nodes)
    assert f"# {n_plain} nodes" not in fused and "nodes in" in fused


@pytest.mark.parametrize("level", [0, 3])
@pytest.mark.parametrize("command", ["run", "info", "convert"])
def test_O_defaults_to_the_session_default(command, level, monkeypatch):
    monkeypatch.setattr(gossamer.session, "DEFAULT_OPTIMIZE", level)
    argv = [command, "m.onnx"] + (["-o", "m.gsm"] if command == "convert" else [])
    assert _parser().parse_args(argv).optimize == level


def test_optimize_defaults_to_level_3():
    assert _parser().parse_args(["optimize", "m.onnx", "-o", "o.gsm"]).optimize == 3
