"""How a run is planned: fixed edges and extremes run in every invocation, older op versions are
tested for the kernels registered for them, kernel backends skip what they cannot claim, edges
are dealt across dtypes, seeds pick the drawn examples reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance import suite
from gossamer.conformance.cases import all_cases
from gossamer.conformance.runner import FAIL, NOT_CLAIMED, PASS, cell_seed, run_cell
from gossamer.plugins import KernelBackend, kernel
from gossamer.refimpl.ops.op_max_pool import max_pool_10
from gossamer.refimpl.ops.op_relu import relu_6
from gossamer.refimpl.ops.op_sigmoid import sigmoid_6

SEEN: list[tuple[int, ...]] = []


class WrongAt65(KernelBackend):
    """Relu wrong only on inputs of exactly 65 elements (a remainder loop after 64 lanes)."""

    name = "test_wrong_at_65"

    @kernel(relu_6, dtypes=("float32",))
    def relu(x):
        y = np.maximum(x, 0)
        return -y if x.size == 65 else y


class NaiveSigmoid(KernelBackend):
    name = "test_naive_sigmoid"

    @kernel(sigmoid_6, dtypes=("float32",))
    def sigmoid(x):
        with np.errstate(all="ignore"):
            return (np.exp(x) / (1 + np.exp(x))).astype(x.dtype)


class MaxPool10Only(KernelBackend):
    """A kernel for one older version only (as a backend for opset-10 models would register)."""

    name = "test_maxpool10_only"

    @kernel(max_pool_10, dtypes=("float32",))
    def pool(x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, pads=None,
             storage_order=0, strides=None, num_outputs=1):  # fmt: skip
        return max_pool_10(x, kernel_shape=kernel_shape, auto_pad=auto_pad, ceil_mode=ceil_mode,
                           dilations=dilations, pads=pads, storage_order=storage_order,
                           strides=strides, num_outputs=num_outputs)  # fmt: skip


class Recorder(KernelBackend):
    name = "test_recorder"

    @kernel(relu_6, dtypes=("float32",))
    def relu(x):
        SEEN.append(tuple(x.shape))
        return np.maximum(x, 0)


def _case(case_id: str):
    return next(c for c in all_cases() if c.id == case_id)


@pytest.mark.parametrize("backend", [WrongAt65], indirect=True)
def test_edges_run_in_every_invocation_even_without_drawn_examples(backend):
    cell = run_cell(_case("Relu"), "float32", backend, max_examples=0)
    assert cell.status == FAIL and "(edge 0 of Relu)" in cell.repro
    without = run_cell(_case("Relu"), "float32", backend, max_examples=0, edges=False)
    assert without.status == NOT_CLAIMED and without.examples == 0


@pytest.mark.parametrize("backend", [NaiveSigmoid], indirect=True)
def test_extreme_values_catch_an_overflowing_formula_deterministically(backend):
    for seed in range(3):
        cell = run_cell(_case("Sigmoid"), "float32", backend, max_examples=0, seed=seed)
        assert cell.status == FAIL and "NaN/inf mismatch" in cell.message
        assert "extremes" in cell.repro


@pytest.mark.parametrize("backend", [MaxPool10Only], indirect=True)
def test_a_kernel_for_an_older_version_is_tested_at_that_version(backend):
    ids = {case.id for case, _ in suite.cells(["MaxPool"], backend)}
    assert ids == {"MaxPool:opset10"}  # not the newest version, which it does not claim
    cells = suite.run_suite(backend, ops=["MaxPool", "Relu"], graphs=False)
    by_id = {(c.case_id, c.dtype): c.status for c in cells}
    assert by_id[("MaxPool:opset10", "float32")] == PASS
    assert by_id[("MaxPool:opset10", "float16")] == NOT_CLAIMED
    assert {s for (case, _), s in by_id.items() if case == "Relu"} == {NOT_CLAIMED}  # one row


@pytest.mark.parametrize("backend", [MaxPool10Only], indirect=True)
def test_a_kernel_backend_skips_what_it_has_no_kernel_for_without_drawing(backend):
    cell = run_cell(_case("Conv"), "float32", backend)
    assert cell.status == NOT_CLAIMED and cell.examples == 0
    assert "no kernel for conv_1" in cell.message
    dtype = run_cell(_case("MaxPool:opset10"), "float64", backend)
    assert dtype.examples == 0 and "takes no float64" in dtype.message


def test_edges_are_dealt_across_dtypes_after_the_first():
    case = _case("Add")
    shares = {d: suite.edge_share(case, d, "reference", 4) for d in suite.case_dtypes(case)}
    assert shares[case.dtypes[0]] == (0, 1)  # the first dtype runs every edge
    later = [s for d, s in shares.items() if d != case.dtypes[0]]
    n = later[0][1]
    assert n == -(-len(case.edges) // 4) and len({k % n for k, _ in later}) == min(n, len(later))
    assert suite.edge_share(case, "float16", "reference", None) == (0, 1)  # --thorough


@pytest.mark.parametrize("backend", [Recorder], indirect=True)
def test_the_seed_picks_the_drawn_examples_reproducibly(backend):
    def drawn(seed: int) -> list[tuple[int, ...]]:
        SEEN.clear()
        run_cell(_case("Relu"), "float32", backend, max_examples=8, edges=False, seed=seed)
        return list(SEEN)

    assert drawn(0) == drawn(0)
    assert drawn(0) != drawn(1)
    assert cell_seed(0, "Relu", "float32") != cell_seed(0, "Relu", "float16")


def test_presets_order_their_effort():
    quick, default, thorough = (suite.PRESETS[k] for k in ("quick", "default", "thorough"))
    assert quick.max_examples < default.max_examples < thorough.max_examples
    assert thorough.extra_edges is None and quick.extra_edges < default.extra_edges
