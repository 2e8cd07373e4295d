"""The harness itself: it flags a wrong kernel on that op only, a kernel that writes into its
input, unclaimed ops, strict xfails, reviewed tolerance files, and partition boundaries."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from gossamer.conformance import suite, tolerances
from gossamer.conformance.graph_cases import run_graph_cases
from gossamer.conformance.runner import FAIL, NOT_CLAIMED, PASS, XFAIL, XPASS, CellResult
from gossamer.plugins import Backend, Claim, KernelBackend, kernel
from gossamer.plugins.reference_backend import ReferenceBackend
from gossamer.refimpl.ops.op_abs import abs_6
from gossamer.refimpl.ops.op_relu import relu_6


class LeakyRelu(KernelBackend):
    """Planted bug: Relu lets negatives through (scaled); Abs is correct."""

    name = "test_leaky_relu"

    @kernel(relu_6)
    def relu(x):
        return np.where(x > 0, x, x * 0.01).astype(x.dtype)

    @kernel(abs_6)
    def abs_(x):
        return np.abs(x)


class InPlaceAbs(KernelBackend):
    """Planted bug: Abs computes the right values but writes them into its input."""

    name = "test_inplace_abs"

    @kernel(abs_6)
    def abs_(x):
        return np.abs(x, out=x)


class Partial(Backend):
    """A subgraph backend claiming Relu/Sigmoid/Add nodes one by one (reference inside)."""

    name = "test_partial"
    ops = frozenset({"Relu", "Sigmoid", "Add", "MatMul"})

    def get_capability(self, graph):
        return [Claim((n.name,)) for n in graph.nodes if n.op_type in self.ops]

    def compile(self, graph, claim):
        return ReferenceBackend().compile(graph, claim)


class SwappedOutputs(Partial):
    """Planted bug: claims Relu+Sigmoid as one partition and returns its outputs reversed."""

    name = "test_swapped"

    def get_capability(self, graph):
        names = {n.op_type: n.name for n in graph.nodes}
        if "Relu" in names and "Sigmoid" in names:
            return [Claim((names["Relu"], names["Sigmoid"]))]
        return []

    def compile(self, graph, claim):
        run = ReferenceBackend().compile(graph, claim)
        return lambda *xs: tuple(reversed(run(*xs)))


def _by_status(cells: list[CellResult]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in cells:
        out.setdefault(c.status, set()).add(c.case_id)
    return out


@pytest.mark.parametrize("backend", [LeakyRelu], indirect=True)
def test_leaky_relu_fails_exactly_on_relu(backend):
    cells = suite.run_suite(backend, ops=["Relu", "Abs", "LeakyRelu", "Sigmoid"], max_examples=5)
    failed = {(c.case_id, c.dtype) for c in cells if c.status == FAIL}
    relu = {("Relu", c.dtype) for c in cells if c.case_id == "Relu"}
    # integer Relu too: the extremes (int8 -128 * 0.01 truncates to -1, not 0) show the leak
    assert failed == relu and len(relu) == 7
    status = _by_status(cells)
    assert status[PASS] == {"Abs"}
    assert status[NOT_CLAIMED] == {"LeakyRelu", "Sigmoid"}


@pytest.mark.parametrize("backend", [LeakyRelu], indirect=True)
def test_failure_repro_runs_standalone_and_shows_the_difference(backend):
    (cell,) = [c for c in suite.run_suite(backend, ops=["Relu"], max_examples=5)
               if c.dtype == "float32"]  # fmt: skip
    assert "mismatched" in cell.message
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(cell.repro, "<repro>", "exec"), {"__name__": "__repro__"})
    assert f"'node': '{backend}'" in out.getvalue()
    assert "mismatched (not bitwise equal) 0/" not in out.getvalue()


@pytest.mark.parametrize("backend", [InPlaceAbs], indirect=True)
def test_kernel_writing_into_its_input_is_reported(backend):
    cells = suite.run_suite(backend, ops=["Abs", "Neg"], max_examples=5)
    abs_cells = [c for c in cells if c.case_id == "Abs"]
    signed = [
        c for c in abs_cells if not c.dtype.startswith("uint")
    ]  # abs(uint) writes nothing new
    assert signed and all(c.status == FAIL for c in signed)
    assert all("mutated input 0" in c.message for c in abs_cells if c.dtype.startswith("float"))
    assert {c.status for c in cells if c.case_id == "Neg"} == {NOT_CLAIMED}


@pytest.mark.parametrize("backend", [Partial], indirect=True)
def test_partial_subgraph_backend_passes_graph_cases_across_boundaries(backend):
    cells = run_graph_cases(backend)
    assert {c.status for c in cells} == {PASS}, [c.message for c in cells]
    assert all(c.claimed == c.examples for c in cells)


@pytest.mark.parametrize("backend", [SwappedOutputs], indirect=True)
def test_wrong_partition_outputs_fail_the_shared_input_graph(backend):
    cells = {c.case_id: c for c in run_graph_cases(backend)}
    assert cells["graph:shared_input"].status == FAIL
    assert cells["graph:chain"].status == NOT_CLAIMED


def test_xfail_is_strict(tmp_path, monkeypatch):
    (tmp_path / "reference.txt").write_text("Relu[float32]  # pretend\n")
    monkeypatch.setattr(suite, "XFAIL_DIR", tmp_path)
    cells = suite.run_suite("reference", ops=["Relu"], max_examples=2)
    by_dtype = {c.dtype: c.status for c in cells}
    assert by_dtype["float32"] == XPASS
    assert by_dtype["float16"] == PASS


def test_xfail_turns_a_failure_into_xfail():
    cell = CellResult("Relu", "Relu", "", "float32", "x", FAIL, message="differs")
    assert suite.apply_xfail(cell, "known").status == XFAIL


def test_tolerance_file_widens_and_needs_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(tolerances, "TOLERANCE_DIR", tmp_path)
    tolerances.backend_overrides.cache_clear()
    (tmp_path / "wide.json").write_text(
        json.dumps({"Conv": {"float32": {"rtol": 0.1, "reason": "r"}}})
    )
    assert tolerances.tolerance("float32", backend="wide", case_id="Conv").rtol == 0.1
    assert tolerances.tolerance("float32", backend="wide", case_id="Relu").rtol == 1e-5
    (tmp_path / "bad.json").write_text(json.dumps({"*": {"*": {"rtol": 0.1}}}))
    with pytest.raises(ValueError, match="without a reason"):
        tolerances.tolerance("float32", backend="bad", case_id="Conv")
    tolerances.backend_overrides.cache_clear()


def test_integers_and_exact_keys_compare_exactly():
    assert tolerances.tolerance("int32").atol == 0 and tolerances.tolerance("int32").rtol == 0
    assert tolerances.tolerance("float32", "exact").rtol == 0
    assert tolerances.tolerance("uint8", "quant1").atol == 1
    long = tolerances.tolerance("float32", "reduction", reduced=400)
    assert long.rtol > tolerances.tolerance("float32", "reduction").rtol
