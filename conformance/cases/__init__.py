"""The case table, one module per op family; `all_cases()` collects every module's CASES.

`_not_yet_covered.txt` lists, with a reason, the reference ops that have no case yet (reviewed:
the meta-test in tests/conformance fails for a new op without a case, and for a listed op that
has one).
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from ..case import Case

MODULES = (
    "elementwise",
    "activations",
    "reductions",
    "nn",
    "pool",
    "matmul",
    "norm",
    "shape",
    "layout",
    "indexing",
    "quantized",
    "quantized_contrib",
    "misc",
    "resize",
    "recurrent",
    "fused",
    "vision",
    "losses",
    "signal",
    "strings",
    "control",
    "tflite_int8",
    "gradients",
    "optimizers",
    "blocked_layout",
)
NOT_YET_COVERED = Path(__file__).parent / "_not_yet_covered.txt"


@lru_cache(maxsize=1)
def all_cases() -> tuple[Case, ...]:
    """Every case of every family module, in table order; case ids are unique."""
    cases: list[Case] = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
            continue
        cases.extend(module.CASES)
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate conformance case ids: {duplicates}")
    return tuple(cases)


def not_yet_covered() -> dict[str, str]:
    """op name (domain::Op for other domains) -> the reason it has no case yet."""
    out: dict[str, str] = {}
    for line in NOT_YET_COVERED.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition("#")
            out[name.strip()] = reason.strip()
    return out
