"""The deployable output: the whole model as Vela compiles it, runnable by TFLite Micro (the
Ethos-U custom op aside, which only a board runs)."""

from __future__ import annotations

import pytest
from gossamer.converter.tflite.import_graph import graph_from_tflite
from gossamer.converter.tflite.reader import read_tflite
from gossamer.npu_plugin.backend import EthosUBackend
from gossamer.npu_plugin.config import config_from_env
from gossamer.npu_plugin.deploy import FloatModelError, compile_for_ethos_u
from gossamer.refimpl.ir import Graph, Node, Value

from .models import split_cnn


def test_whole_model_becomes_ethos_u_custom_ops_and_cpu_builtins():
    report = compile_for_ethos_u(graph_from_tflite(split_cnn()), config_from_env({}))
    ops = [op.opcode for op in read_tflite(report.model).subgraphs[0].operators]
    assert ops.count("ethos-u") == 2  # the two NPU islands
    assert {"QUANTIZE", "GATHER", "DEQUANTIZE"} <= set(ops)  # left to the Cortex-M
    assert report.cpu_operators == 3 and report.total_cycles > 0


def test_the_backend_deploy_hook_writes_the_file_and_returns_vela_summary(tmp_path):
    path = tmp_path / "split_vela.tflite"
    text = EthosUBackend().deploy(graph_from_tflite(split_cnn()), str(path), {"clock": "250MHz"})
    ops = [op.opcode for op in read_tflite(path.read_bytes()).subgraphs[0].operators]
    assert ops.count("ethos-u") == 2
    assert "in 2 ethos-u custom op(s); 3 on the CPU as TFLite builtins" in text
    assert "(DEQUANTIZE, GATHER, QUANTIZE)" in text and "at 250 MHz" in text
    assert "on the CPU, Unsupported opType: " in text  # Vela's reason for GATHER


def test_a_float_graph_is_refused_with_the_quantize_hint():
    graph = Graph([Node("Relu", ["x"], ["y"], name="relu")], [Value("x", "float32", (1, 4))],
                  [Value("y", "float32", (1, 4))], {})  # fmt: skip
    with pytest.raises(FloatModelError, match="gossamer quantize MODEL --mode static"):
        compile_for_ethos_u(graph, config_from_env({}))


def test_a_model_vela_rejects_is_refused_with_the_operator_and_its_reason(monkeypatch):
    from gossamer.npu_plugin import deploy as deploy_module
    from gossamer.npu_plugin.vela_runner import VelaError

    def rejecting(tflite, config, name="model"):
        reason = "HARD_SWISH: invalid TFLite semantics for Vela: IFM has to be 8bit"
        raise VelaError("Vela failed (exit 1): Failed to parse TFLite file", {"hs_0": reason})

    monkeypatch.setattr(deploy_module, "run_vela", rejecting)
    with pytest.raises(VelaError, match=r"rejects the operator producing 'hs_0' \(HARD_SWISH: "):
        compile_for_ethos_u(graph_from_tflite(split_cnn()), config_from_env({}))
