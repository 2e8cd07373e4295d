"""The deployable output: the whole model as Vela compiles it, runnable by TFLite Micro (the
Ethos-U custom op aside, which only a board runs)."""

from __future__ import annotations

from gossamer.converter.tflite.import_graph import graph_from_tflite
from gossamer.converter.tflite.reader import read_tflite
from gossamer.npu_plugin.config import config_from_env
from gossamer.npu_plugin.deploy import compile_for_ethos_u

from .models import split_cnn


def test_whole_model_becomes_ethos_u_custom_ops_and_cpu_builtins():
    report = compile_for_ethos_u(graph_from_tflite(split_cnn()), config_from_env({}))
    ops = [op.opcode for op in read_tflite(report.model).subgraphs[0].operators]
    assert ops.count("ethos-u") == 2  # the two NPU islands
    assert {"QUANTIZE", "GATHER", "DEQUANTIZE"} <= set(ops)  # left to the Cortex-M
    assert report.cpu_operators == 3 and report.total_cycles > 0
