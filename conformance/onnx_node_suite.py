"""The ONNX backend node tests, run through Gossamer.

The `onnx` package no longer ships the node-test data files; `collect_testcases` builds the 1,884
cases from `onnx/backend/test/case/node/*.py` in a few seconds. Each case is compared as onnx's own
runner does (shape, dtype, `assert_allclose` with the case's rtol/atol; strings exactly; sequences
element by element). Cases known not to pass are listed with a reason in
`conformance/xfails/onnx_node_<backend>.txt`.

    python -m gossamer.conformance.onnx_node_suite [--filter REGEX] [--failures FILE]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

XFAIL_DIR = Path(__file__).parent / "xfails"


@dataclass
class CaseResult:
    name: str
    passed: bool
    message: str = ""
    seconds: float = 0.0


@lru_cache(maxsize=1)
def collect_cases() -> dict[str, Any]:
    """name -> onnx TestCase, for every node case the installed onnx generates."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return {c.name: c for c in cases}


def load_xfails(backend: str = "reference") -> dict[str, str]:
    """case name -> reason, from the reviewed xfail file of a backend."""
    path = XFAIL_DIR / f"onnx_node_{backend}.txt"
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        out[name.strip()] = reason.strip() or "no reason given"
    return out


def _normalize(item: Any) -> Any:
    from onnx import OptionalProto, SequenceProto, TensorProto, numpy_helper

    if isinstance(item, TensorProto):
        return numpy_helper.to_array(item)
    if isinstance(item, SequenceProto):
        return numpy_helper.to_list(item)
    if isinstance(item, OptionalProto):
        return numpy_helper.to_optional(item)
    return item


def assert_similar(expected: Any, actual: Any, rtol: float, atol: float, where: str = "") -> None:
    """The comparison of onnx's backend runner (shape, dtype, allclose; strings exactly)."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            raise AssertionError(f"{where}: expected a sequence, got {type(actual).__name__}")
        if len(actual) != len(expected):
            raise AssertionError(f"{where}: sequence length {len(actual)} != {len(expected)}")
        for j, (e, a) in enumerate(zip(expected, actual)):
            assert_similar(e, a, rtol, atol, f"{where}[{j}]")
        return
    if expected is None:
        if actual is not None:
            raise AssertionError(
                f"{where}: expected an empty optional, got {type(actual).__name__}"
            )
        return
    if not isinstance(actual, np.ndarray):
        raise AssertionError(f"{where}: expected an array, got {type(actual).__name__}")
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{where}: shape {actual.shape} != expected {expected.shape}")
    if expected.dtype == object:
        np.testing.assert_array_equal(actual, expected, err_msg=where)
        return
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{where}: dtype {actual.dtype} != expected {expected.dtype}")
    if actual.dtype.name == "bfloat16":
        rtol = max(rtol, 2**-6)
    if actual.dtype.kind not in "biufc" or actual.dtype.name == "bfloat16":
        actual, expected = actual.astype(np.float32), expected.astype(np.float32)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=where)


def run_case(case: Any, backends: list[str] | None = None) -> CaseResult:
    """Runs one node case; never raises (the failure is in the result)."""
    from ..converter.onnx_import import graph_from_onnx
    from ..refimpl.errors import PerformanceWarning
    from ..session import Session

    start = time.perf_counter()
    try:
        graph = graph_from_onnx(case.model)
        with warnings.catch_warnings():  # a node the backend declines is fine here: it must pass
            warnings.simplefilter("ignore", PerformanceWarning)
            sess = Session(graph) if backends is None else Session(graph, backends=backends)
        names = [v.name for v in sess.inputs]
        for k, (inputs, expected) in enumerate(case.data_sets):
            feeds = dict(zip(names, [_normalize(x) for x in inputs]))
            actual = sess.run(None, feeds)
            expected = [_normalize(x) for x in expected]
            if len(actual) != len(expected):
                raise AssertionError(f"{len(actual)} outputs, expected {len(expected)}")
            for i, (e, a) in enumerate(zip(expected, actual)):
                assert_similar(e, a, case.rtol, case.atol, f"data set {k}, output {i}")
    except Exception as err:  # the suite reports every kind of failure the same way
        msg = f"{type(err).__name__}: {err}".splitlines()
        return CaseResult(case.name, False, " | ".join(msg[:6])[:600], time.perf_counter() - start)
    return CaseResult(case.name, True, "", time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the ONNX backend node tests through Gossamer."
    )
    parser.add_argument("--filter", default="", help="regular expression on case names")
    parser.add_argument("--failures", help="write failing cases and their messages to this file")
    parser.add_argument("--backend", default="reference")
    args = parser.parse_args(argv)
    cases = collect_cases()
    pattern = re.compile(args.filter)
    selected = [c for n, c in sorted(cases.items()) if pattern.search(n)]
    xfails = load_xfails(args.backend)
    results = [run_case(c, backends=[args.backend]) for c in selected]
    failed = [r for r in results if not r.passed]
    passed = len(results) - len(failed)
    unexpected = [r for r in failed if r.name not in xfails]
    fixed = [r for r in results if r.passed and r.name in xfails]
    if args.failures:
        with open(args.failures, "w") as f:
            for r in failed:
                f.write(f"{r.name}\t{r.message}\n")
    slow = sorted(results, key=lambda r: -r.seconds)[:5]
    print(
        f"passed {passed}/{len(results)} ({100.0 * passed / max(1, len(results)):.1f} %); "
        f"{len(unexpected)} unexpected failures, {len(fixed)} xfails now pass; "
        f"slowest: " + ", ".join(f"{r.name} {r.seconds:.2f}s" for r in slow)
    )
    for r in unexpected:
        print(f"FAIL {r.name}: {r.message}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
