"""`gossamer conformance --backend opencl` on the hot-path ops (the quick preset: the whole
claimed matrix takes about two minutes on PoCL and is run by the CLI, not here)."""

from __future__ import annotations

import pytest
from gossamer.conformance.runner import PASS, UNEXPECTED
from gossamer.conformance.suite import run_suite

pytestmark = pytest.mark.usefixtures("device")

HOT_PATH = [
    "Conv", "gossamer::FusedConv", "Gemm", "gossamer::FusedGemm", "MatMul",
    "gossamer::FusedMatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul", "Relu",
    "Sigmoid", "HardSwish", "Softmax", "LayerNormalization", "Concat", "Transpose", "Slice",
    "Reshape", "BatchNormalization", "Resize", "Pad",
]  # fmt: skip


def test_hot_path_ops_pass_conformance():
    cells = run_suite("opencl", ops=HOT_PATH, preset="quick", graphs=True)
    bad = [f"{c.case_id}[{c.dtype}]: {c.message}" for c in cells if c.status in UNEXPECTED]
    assert not bad, "\n".join(bad)
    passed = {c.case_id.split(":")[0] for c in cells if c.status == PASS and c.dtype == "float32"}
    assert {"Conv", "Gemm", "MatMul", "Softmax", "Add", "Relu"} <= passed


def test_fp16_storage_passes_conformance_on_half_range_values():
    """opencl-fp16 declares storage_dtype float16: the suite draws half-range values and rounds
    the reference's inputs and outputs to half, so overflow past 65504 is inf on both sides."""
    from gossamer.conformance.storage import storage_dtype

    assert storage_dtype("opencl-fp16") == "float16"
    assert storage_dtype("opencl") is None
    ops = ["Exp", "Mul", "Add", "gossamer::FusedConv", "gossamer::FusedGemm", "Pad", "Softmax"]
    cells = run_suite("opencl-fp16", ops=ops, preset="quick", graphs=False)
    bad = [f"{c.case_id}[{c.dtype}]: {c.message}" for c in cells if c.status in UNEXPECTED]
    assert not bad, "\n".join(bad)
    assert {c.case_id for c in cells if c.status == PASS} >= {"Exp", "Mul", "gossamer::FusedConv"}
