"""`gossamer conformance --backend ethos-u` on ops the NPU claims: TFLite's integer ops exact, the
ONNX quantised ops within the unit of the reviewed tolerance (conformance/tolerances/ethos-u.json:
the NPU requantises as TFLite does)."""

from __future__ import annotations

import pytest
from gossamer.conformance import suite

pytestmark = pytest.mark.usefixtures("ethos_u")
OPS = ["tflite::Conv2D", "QLinearConv"]


def test_claimed_ops_pass_conformance():
    cells = suite.run_suite("ethos-u", ops=OPS, preset="quick", max_examples=1)
    by_case = {(c.case_id, c.dtype): c for c in cells}
    failed = [f"{c.case_id}[{c.dtype}]: {c.message}" for c in cells if c.status != "pass"
              and c.status != "not claimed"]  # fmt: skip
    assert not failed, failed
    for case in OPS:
        assert by_case[(case, "int8")].status == "pass"  # claimed by the NPU and exact
