"""`gossamer conformance --backend cython-bf16` with the emulation (GOSSAMER_BF16=emulate) and,
where the CPU has them, with vdpbf16ps and with AMX's tdpbf16ps: every op it claims passes at the
tolerance of conformance/tolerances/cython-bf16.json, and that tolerance is needed (the float32 one
fails: the backend really computes in bf16)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gossamer.conformance.runner import PASS, UNEXPECTED
from gossamer.conformance.suite import run_suite
from gossamer.conformance.tolerances import tolerance
from gossamer.cython_kernels._native import ext

CLAIMED = ["Conv", "gossamer::FusedConv", "Gemm", "gossamer::FusedGemm", "MatMul",
           "gossamer::FusedMatMul", "gossamer::FusedConvPair",
           "gossamer::NchwcConv"]  # fmt: skip


@pytest.fixture(params=["emulate", "vdpbf16ps", "amx"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "emulate":
        monkeypatch.setenv("GOSSAMER_BF16", "emulate")
        yield request.param
        return
    if not ext().bf16_cpu_native():
        pytest.skip(f"this CPU has no AVX512_BF16: {request.param} cannot run here")
    monkeypatch.setenv("GOSSAMER_BF16", "native")
    amx_before = ext().bf16_amx_enabled()
    try:
        if ext().bf16_set_amx(request.param == "amx") != (request.param == "amx"):
            pytest.skip("no AMX-BF16 here (CPU, Linux tile permission or GOSSAMER_AMX=off)")
        yield request.param
    finally:
        ext().bf16_set_amx(amx_before)


def test_claimed_ops_pass_conformance(mode: str) -> None:
    cells = run_suite("cython-bf16", ops=CLAIMED, preset="quick", graphs=True)
    bad = [f"{c.case_id}[{c.dtype}]: {c.message}" for c in cells if c.status in UNEXPECTED]
    assert not bad, "\n".join(bad)
    passed = {c.case_id for c in cells if c.status == PASS and c.dtype == "float32"}
    assert {"Conv", "Gemm", "MatMul", "gossamer::FusedConv"} <= passed
    if mode == "amx":  # the blocked layout's 1x1s run on the tiles (bf16_nchwc_conv.py)
        assert "gossamer::NchwcConv" in passed


def test_bf16_tolerance_is_wider_than_float32_and_reasoned() -> None:
    wide = tolerance("float32", backend="cython-bf16", case_id="Conv")
    assert wide.rtol >= 2**-8 and "bfloat16" in wide.reason
    assert tolerance("float32", backend="cython", case_id="Conv").rtol < 1e-4
