"""Running Vela on a .tflite file and reading back what it reports."""

from __future__ import annotations

import subprocess

import pytest
from gossamer.converter.tflite.reader import read_tflite
from gossamer.npu_plugin import vela_runner
from gossamer.npu_plugin.config import config_from_env
from gossamer.npu_plugin.vela_runner import VelaError, cpu_reasons, run_vela, semantic_errors

from .models import split_cnn


def test_report_holds_vela_verdicts_reasons_and_figures():
    report = run_vela(split_cnn(), config_from_env({}))
    assert (report.cpu_operators, report.npu_operators) == (3, 6)
    assert report.reasons["perm"] == "Unsupported opType"
    assert "Float32" in report.reasons["xq"]
    assert report.clock_hz == 500e6 and report.total_cycles > 0
    assert report.sram_bytes > 0 and report.flash_bytes > 0
    assert {layer.name for layer in report.layers} >= {"c1", "sum", "pool"}
    assert 0 < sum(layer.cycles for layer in report.layers) <= report.total_cycles
    ops = [op.opcode for op in read_tflite(report.model).subgraphs[0].operators]
    assert "ethos-u" in ops and "GATHER" in ops  # NPU work as a custom op, the CPU op kept


def test_the_clock_setting_reaches_vela():
    report = run_vela(split_cnn(), config_from_env({"GOSSAMER_ETHOSU_CLOCK": "250MHz"}))
    assert report.clock_hz == 250e6


def test_a_file_vela_cannot_read_is_a_vela_error():
    with pytest.raises(VelaError, match="Vela failed"):
        run_vela(b"TFL3" + b"\0" * 64, config_from_env({}))


def test_a_vela_run_past_the_timeout_is_a_vela_error(monkeypatch):
    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(vela_runner.subprocess, "run", hang)
    with pytest.raises(VelaError, match="GOSSAMER_ETHOSU_TIMEOUT"):
        run_vela(split_cnn(), config_from_env({"GOSSAMER_ETHOSU_TIMEOUT": "5"}))


def test_missing_vela_is_reported(monkeypatch):
    monkeypatch.setattr(vela_runner.importlib.util, "find_spec", lambda name: None)
    assert "ethos-u-vela" in vela_runner.vela_missing()
    with pytest.raises(VelaError, match="not installed"):
        run_vela(split_cnn(), config_from_env({}))


def test_reasons_are_parsed_per_output_tensor():
    text = (
        "Warning (supported operators) operator: GATHER, ofm: 'a'\nReason: Unsupported opType\n\n"
        "Warning (supported operators) operator: CONV_2D, ofm: 'b/c'\nReason: one\nReason: two\n"
    )
    assert cpu_reasons(text) == {"a": "Unsupported opType", "b/c": "one; two"}


def test_semantic_rejections_are_parsed_per_output_tensor():
    text = (
        "RuntimeError: Compilation failed: Error: HARD_SWISH 'hs_0' Does not have valid TFLite "
        "Semantics.\n - IFM has to be 8bit\n   IFM type=FLOAT32, \nFailed to parse TFLite file\n"
    )
    reason = "HARD_SWISH: invalid TFLite semantics for Vela: IFM has to be 8bit; IFM type=FLOAT32"
    assert semantic_errors(text) == {"hs_0": reason}
