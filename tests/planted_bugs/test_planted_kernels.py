"""`gossamer conformance` flags each planted kernel bug, on that op only (issue 3, "Proof that the
suite catches real bugs").

Each test runs the CLI in-process on the ops the planted backend claims, reads the JSON report and
checks: every claimed cell of the buggy op is FAIL, every cell of the correct kernels next to it is
pass, and the failure's repro script demonstrates the bug when run.
"""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import cell, verdicts

REPO = Path(__file__).resolve().parents[2]
FLOATS = ("float32", "float16", "float64", "bfloat16")


def split(doc, buggy_cases):
    """(statuses of the buggy cases' cells, statuses of every other cell)."""
    got = verdicts(doc)
    bad = {k: v for k, v in got.items() if k[0] in buggy_cases}
    rest = {k: v for k, v in got.items() if k[0] not in buggy_cases}
    return bad, rest


def run_repro(text: str, tmp_path: Path, capsys) -> str:
    """Runs a repro script in this process (the planted backends are registered); its output."""
    path = tmp_path / "repro.py"
    path.write_text(text)
    capsys.readouterr()  # drop what the CLI printed
    try:
        runpy.run_path(str(path), run_name="__main__")
    except Exception as err:  # a crashing kernel: the traceback is the demonstration
        print(f"raised {type(err).__name__}: {err}")
    return capsys.readouterr().out


def mismatches(printed: str) -> list[int]:
    return [int(m) for m in re.findall(r"mismatched \(not bitwise equal\) (\d+)/", printed)]


@pytest.mark.parametrize("backend", ["pad_bug", "pad_shift"])
def test_conv_pad_bug_fails_conv_only(conformance, backend):
    doc = conformance(backend, ["Conv", "Relu", "Add"])
    conv, rest = split(doc, {"Conv"})
    assert conv == {("Conv", d): "fail" for d in FLOATS}
    assert rest and set(rest.values()) == {"pass"}
    assert {k[0] for k in rest} == {"Relu", "Add"}
    assert doc["rc"] == 1


def test_conv_dropped_pad_repro_shows_the_short_axis(conformance, tmp_path, capsys):
    failed = cell(conformance("pad_bug", ["Conv"]), "Conv", "float32")
    assert "'pads'" in failed["repro"] and "Node('Conv'" in failed["repro"]
    printed = run_repro(failed["repro"], tmp_path, capsys)
    crashed = "raised NodeExecutionError: backend 'pad_bug' failed: node (Conv)" in printed
    shapes = re.search(r"expected float32\[(.*?)\], actual float32\[(.*?)\]", printed)
    assert crashed or (shapes and shapes[1] != shapes[2])  # the last axis lost its end pad


def test_conv_shifted_pad_repro_shows_wrong_values_in_a_fresh_process(conformance, tmp_path):
    failed = cell(conformance("pad_shift", ["Conv"]), "Conv", "float32")
    assert failed["message"].startswith("output 0: max abs")
    script = tmp_path / "repro.py"
    script.write_text(failed["repro"])
    boot = (
        "import runpy, sys; from tests.planted_bugs.backends import register_all; "
        "register_all(); runpy.run_path(sys.argv[1], run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", boot, str(script)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "placement: {'node': 'pad_shift'}" in done.stdout
    assert mismatches(done.stdout) and all(m > 0 for m in mismatches(done.stdout))


def test_relu_leak_fails_relu_only(conformance, tmp_path, capsys):
    doc = conformance("relu_leak", ["Relu", "Add", "Abs"])
    relu, rest = split(doc, {"Relu"})
    assert relu == {("Relu", d): "fail" for d in FLOATS} | {
        ("Relu", d): "not claimed" for d in ("int8", "int32", "int64")
    }
    assert {k[0] for k in rest} == {"Add", "Abs"} and set(rest.values()) == {"pass"}
    failed = cell(doc, "Relu", "float32")
    printed = run_repro(failed["repro"], tmp_path, capsys)
    assert mismatches(printed) and mismatches(printed)[0] > 0
    first = re.findall(r"at \[[\d, ]*\]: expected (\S+), actual (\S+)", printed)
    assert first and all(float(a.rstrip(",)").split("(")[-1]) < 0 for _, a in first)  # leaked


def test_keepdims_bug_fails_reduce_sum_only(conformance, tmp_path, capsys):
    doc = conformance("keepdims_bug", ["ReduceSum", "ReduceMean", "Relu", "Add"])
    reduce_sum, rest = split(doc, {"ReduceSum", "ReduceSum:opset11"})
    dtypes = FLOATS + ("int32", "int64")
    assert reduce_sum == {
        (c, d): "fail" for c in ("ReduceSum", "ReduceSum:opset11") for d in dtypes
    }
    assert {k[0] for k in rest} == {"ReduceMean", "ReduceMean:opset11", "Relu", "Add"}
    assert set(rest.values()) == {"pass"}
    for case_id in ("ReduceSum", "ReduceSum:opset11"):
        failed = cell(doc, case_id, "float32")
        assert re.match(r"output 0: shape \[[\d, ]*\] != expected", failed["message"])
        assert "'keepdims': 0" in failed["repro"]
        printed = run_repro(failed["repro"], tmp_path, capsys)
        shapes = re.search(r"expected float32(\[.*?\]), actual float32(\[.*?\])", printed)
        assert shapes and shapes[1] != shapes[2]


def test_inplace_abs_is_reported_as_mutated_input_on_abs_only(conformance):
    doc = conformance("inplace_abs", ["Abs", "Relu", "Add"])
    abs_cells, rest = split(doc, {"Abs"})
    signed = FLOATS + ("int32", "int64", "int8")
    assert abs_cells == {("Abs", d): "fail" for d in signed} | {("Abs", "uint8"): "not claimed"}
    assert {k[0] for k in rest} == {"Relu", "Add"} and set(rest.values()) == {"pass"}
    for dtype in signed:
        failed = cell(doc, "Abs", dtype)
        assert failed["message"] == "inplace_abs wrote into its inputs: mutated input 0 (x0)"
        assert "# inplace_abs wrote into its inputs: mutated input 0 (x0)" in failed["repro"]


def test_inplace_abs_repro_demonstrates_the_mutation(conformance, tmp_path, capsys):
    failed = cell(conformance("inplace_abs", ["Abs"]), "Abs", "float32")
    printed = run_repro(failed["repro"], tmp_path, capsys)
    assert re.search(r"input x0 was modified by the run: [1-9]\d* element\(s\) changed", printed)
