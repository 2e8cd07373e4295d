"""The one tolerance table, and its per-backend widenings (reviewed data files).

Integers and bools compare exactly. Floats agree when |actual - expected| <= max(atol, rtol *
median|expected|) + rtol*|expected| (refimpl/mismatch.py, the definition `gossamer compare` uses
too), with NaN matching NaN and infinities matching exactly. A case's `tol` key scales the dtype's
base tolerance ("exact" makes even floats exact: abs, relu, max, shape ops, ...); reductions widen
by the square root of the reduced length. A backend may widen further only through
`conformance/tolerances/<backend>.json`:

    {"Conv": {"float16": {"rtol": 2e-3, "atol": 1e-3, "reason": "fp32 accumulation order"}},
     "*": {"bfloat16": {"rtol": 2e-2, "reason": "..."}}}

Keys are case ids (or "*"), then dtypes (or "*"); every entry must carry a reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TOLERANCE_DIR = Path(__file__).parent / "tolerances"

# dtype -> (rtol, atol)
BASE: dict[str, tuple[float, float]] = {
    "float64": (1e-12, 1e-12),
    "float32": (1e-5, 1e-6),
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
}
# tol key -> factor on the base (0 = exact, also for floats)
KEY_FACTORS: dict[str, float] = {
    "exact": 0.0,
    "default": 1.0,
    "transcendental": 4.0,  # exp/log/tanh/erf...: libm differences of a few ulps
    "reduction": 2.0,  # also widened by sqrt(reduced length)
    "matmul": 4.0,  # accumulation order; widened by sqrt(inner length)
    # Integer outputs within 1 unit. Integer ops are otherwise exact: the reference fixes every
    # float32 step of their requantisation (QLinearConv/MatMul, QGemm, QLinearAdd/Mul/Concat,
    # the QLinear pools, DynamicQuantizeLinear, ...). Used only where the spec leaves a rounding
    # open inside the op: com.microsoft::QLinearSigmoid and QLinearSoftmax, which go through
    # sigmoid and exp (transcendentals a backend may round differently by an ulp, crossing a
    # .5 tie).
    "quant1": 0.0,
}


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str = ""

    def describe(self) -> str:
        if self.rtol == 0 and self.atol == 0:
            return "exact"
        return f"rtol {self.rtol:.1e}, atol {self.atol:.1e}" + (
            f" ({self.reason})" if self.reason else ""
        )


def tolerance(
    dtype: str, key: str = "default", reduced: int = 1, backend: str = "", case_id: str = ""
) -> Tolerance:
    """The tolerance for one output of `dtype` (the output's dtype)."""
    factor = KEY_FACTORS[key]
    if dtype not in BASE:  # ints, bool, strings: exact; quantised within one unit
        base = Tolerance(0.0, 1.0 if key == "quant1" else 0.0)
    elif factor == 0.0:
        base = Tolerance(0.0, 0.0)
    else:
        rtol, atol = BASE[dtype]
        widen = factor * math.sqrt(max(1, reduced))
        base = Tolerance(rtol * widen, atol * widen)
    extra = _override(backend, case_id, dtype)
    if extra is None:
        return base
    return Tolerance(
        max(base.rtol, extra.get("rtol", 0.0)),
        max(base.atol, extra.get("atol", 0.0)),
        str(extra["reason"]),
    )


def _override(backend: str, case_id: str, dtype: str) -> dict | None:
    table = backend_overrides(backend) if backend else {}
    for case_key in (case_id, "*"):
        entry = table.get(case_key, {})
        for dtype_key in (dtype, "*"):
            if dtype_key in entry:
                return entry[dtype_key]
    return None


@cache
def backend_overrides(backend: str) -> dict[str, dict[str, dict]]:
    """The reviewed widenings of a backend (empty if it has no file); every entry needs a reason."""
    path = TOLERANCE_DIR / f"{backend}.json"
    if not path.exists():
        return {}
    table = json.loads(path.read_text())
    for case_key, per_dtype in table.items():
        for dtype_key, entry in per_dtype.items():
            if not str(entry.get("reason", "")).strip():
                raise ValueError(
                    f"{path}: {case_key}/{dtype_key} widens a tolerance without a reason"
                )
            unknown = set(entry) - {"rtol", "atol", "reason"}
            if unknown:
                raise ValueError(
                    f"{path}: {case_key}/{dtype_key} has unknown keys {sorted(unknown)}"
                )
    return table
