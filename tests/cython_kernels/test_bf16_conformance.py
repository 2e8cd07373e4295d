"""`gossamer conformance --backend cython-bf16` with the emulation (GOSSAMER_BF16=emulate): every op
it claims passes at the tolerance of conformance/tolerances/cython-bf16.json, and that tolerance is
needed (the float32 one fails: the backend really computes in bf16)."""

from __future__ import annotations

import pytest
from gossamer.conformance.runner import PASS, UNEXPECTED
from gossamer.conformance.suite import run_suite
from gossamer.conformance.tolerances import tolerance

CLAIMED = ["Conv", "gossamer::FusedConv", "Gemm", "gossamer::FusedGemm", "MatMul",
           "gossamer::FusedMatMul"]  # fmt: skip


@pytest.fixture(autouse=True)
def emulate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOSSAMER_BF16", "emulate")


def test_claimed_ops_pass_conformance_with_the_emulation() -> None:
    cells = run_suite("cython-bf16", ops=CLAIMED, preset="quick", graphs=True)
    bad = [f"{c.case_id}[{c.dtype}]: {c.message}" for c in cells if c.status in UNEXPECTED]
    assert not bad, "\n".join(bad)
    passed = {c.case_id for c in cells if c.status == PASS and c.dtype == "float32"}
    assert {"Conv", "Gemm", "MatMul", "gossamer::FusedConv"} <= passed


def test_bf16_tolerance_is_wider_than_float32_and_reasoned() -> None:
    wide = tolerance("float32", backend="cython-bf16", case_id="Conv")
    assert wide.rtol >= 2**-8 and "bfloat16" in wide.reason
    assert tolerance("float32", backend="cython", case_id="Conv").rtol < 1e-4
