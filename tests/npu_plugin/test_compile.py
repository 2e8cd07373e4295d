"""Compiling partitions: Vela's figures kept, the disk cache (hits, keys, corrupt entries), and a
Vela failure on one partition falling back to the CPU while the session still runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.npu_plugin import backend as npu_backend
from gossamer.npu_plugin.vela_runner import VelaError

import gossamer

from .models import split_cnn

pytestmark = pytest.mark.usefixtures("ethos_u")
X = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)


def estimates(sess) -> list:
    return list(sess.partition_estimates.values())


def count_vela_runs(monkeypatch) -> list[bytes]:
    runs: list[bytes] = []
    real = npu_backend.run_vela

    def counted(tflite, config):
        runs.append(tflite)
        return real(tflite, config)

    monkeypatch.setattr(npu_backend, "run_vela", counted)
    return runs


def test_each_partition_keeps_vela_estimates_and_memory():
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    found = estimates(sess)
    assert len(found) == 2
    for e in found:
        assert e.cycles > 0 and e.clock_hz == 500e6
        assert e.seconds == pytest.approx(e.cycles / e.clock_hz)
        assert e.sram_bytes > 0 and e.flash_bytes > 0 and e.npu_operators >= 1
        assert e.target.startswith("ethos-u55-128") and e.layers


def test_a_faster_target_is_estimated_faster(monkeypatch):
    slow = sum(e.seconds for e in estimates(gossamer.load(split_cnn(), backends=["ethos-u"])))
    monkeypatch.setenv("GOSSAMER_ETHOSU_ACCELERATOR", "ethos-u65-512")
    fast = sum(e.seconds for e in estimates(gossamer.load(split_cnn(), backends=["ethos-u"])))
    assert fast < slow


def test_compiled_partitions_are_cached_on_disk(npu_cache, monkeypatch):
    gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    entries = sorted(p for p in npu_cache.iterdir() if not p.name.startswith("."))
    assert len(entries) == 3  # the whole model's check and two partitions
    for entry in entries:
        assert (entry / "model_vela.tflite").stat().st_size > 0
        assert json.loads((entry / "report.json").read_text())["vela_version"]
    runs = count_vela_runs(monkeypatch)
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert runs == [] and len(estimates(sess)) == 2
    assert all(e.cache_entry and e.cache_entry.startswith(str(npu_cache)) for e in estimates(sess))


def test_the_cache_key_includes_the_target(npu_cache, monkeypatch):
    gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    monkeypatch.setenv("GOSSAMER_ETHOSU_CLOCK", "400MHz")
    runs = count_vela_runs(monkeypatch)
    gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert len(runs) == 3


def test_corrupt_cache_entries_are_rebuilt(npu_cache, monkeypatch):
    gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    truncated, bad_json, no_report = sorted(npu_cache.iterdir())
    model = truncated / "model_vela.tflite"
    model.write_bytes(model.read_bytes()[:100])
    (bad_json / "report.json").write_text("{not json")
    (no_report / "report.json").unlink()
    runs = count_vela_runs(monkeypatch)
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert len(runs) == 3 and len(estimates(sess)) == 2
    runs.clear()
    gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert runs == []  # rebuilt entries are whole again


def test_a_vela_failure_on_one_partition_falls_back_to_the_cpu(npu_cache, monkeypatch):
    real = npu_backend.run_vela
    calls = []

    def fails_on_the_second_partition(tflite, config):
        calls.append(tflite)
        if len(calls) == 3:  # 1: the whole model's check, 2 and 3: the partitions
            raise VelaError("Vela failed (exit 1): simulated internal error")
        return real(tflite, config)

    monkeypatch.setattr(npu_backend, "run_vela", fails_on_the_second_partition)
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    placement = sess.placement
    assert [len(c.nodes) for _, c in placement.partitions] == [2]
    assert placement.backend_of["conv_2d_5__32"] == "reference"
    assert placement.declined["conv_2d_5__32"]["ethos-u"] == (
        "compile failed: VelaError: Vela failed (exit 1): simulated internal error"
    )
    ref = gossamer.load(split_cnn(), backends=[], optimize=0)
    np.testing.assert_array_equal(sess.run(None, {"serving_default_x:0": X})[0],
                                  ref.run(None, {"serving_default_x:0": X})[0])  # fmt: skip


def test_a_partition_vela_would_split_is_refused(npu_cache, monkeypatch):
    """Compiling must put the whole partition on the NPU; if Vela leaves part of it on the CPU,
    the partition falls back rather than pretending."""
    real = npu_backend.compiled
    calls = []

    def partly_cpu(tflite, config):
        report = real(tflite, config)
        calls.append(tflite)
        if len(calls) > 1:
            report.cpu_operators, report.reasons = 1, {"c1": "made up"}
        return report

    monkeypatch.setattr(npu_backend, "compiled", partly_cpu)
    sess = gossamer.load(split_cnn(), backends=["ethos-u"], optimize=0)
    assert sess.placement.partitions == []
    reason = sess.placement.declined["conv_2d_1__10"]["ethos-u"]
    assert reason == (
        "compile failed: VelaError: "
        "Vela left 1 operator(s) of this partition on the CPU (c1: made up)"
    )
