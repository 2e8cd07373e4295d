"""Backends that store float32 tensors as float16 (`storage_dtype`): the suite draws half-range
values, rounds the inputs and the reference's outputs as such a backend does, and still catches a
half-storage kernel that gets the rounding wrong."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance import storage
from gossamer.conformance.case import build_example
from gossamer.conformance.cases import all_cases
from gossamer.conformance.runner import FAIL, PASS, _fixed, run_cell
from gossamer.plugins import KernelBackend, kernel
from gossamer.refimpl.ops.op_exp import exp_6
from gossamer.refimpl.ops.op_mul import mul_7
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

HALF_MAX = float(np.finfo(np.float16).max)


def _half(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(x.dtype)


class HalfStorage(KernelBackend):
    """Keeps float32 tensors as half: rounds what it takes in and what it stores, computes in
    float32 (what opencl-fp16 does)."""

    name = "test_half_storage"
    storage_dtype = "float16"

    @kernel(mul_7)
    def mul(a, b):
        with np.errstate(over="ignore"):
            return _half(_half(a) * _half(b))

    @kernel(exp_6)
    def exp(x):
        with np.errstate(over="ignore"):
            return _half(np.exp(_half(x)))


class HalfStorageUndeclared(HalfStorage):
    """The same kernels without declaring the storage: float32's domain breaks them."""

    name = "test_half_undeclared"
    storage_dtype = None


class HalfStorageSaturating(HalfStorage):
    """Planted bug: declares half storage but saturates at 65504 when storing (no inf)."""

    name = "test_half_saturating"

    @kernel(mul_7)
    def mul(a, b):
        with np.errstate(over="ignore", invalid="ignore"):
            out = _half(_half(a) * _half(b))
        return np.where(np.isinf(out), np.sign(out) * HALF_MAX, out).astype(out.dtype)


def _case(case_id: str):
    return next(c for c in all_cases() if c.id == case_id)


@pytest.mark.parametrize("backend", [HalfStorage], indirect=True)
def test_storage_dtype_is_read_from_the_backend(backend):
    assert storage.storage_dtype(backend) == "float16"
    assert storage.storage_dtype("reference") is None


@pytest.mark.parametrize("backend", [HalfStorage], indirect=True)
@pytest.mark.parametrize("case_id", ["Mul", "Exp"])
def test_a_faithful_half_storage_backend_passes(backend, case_id):
    cell = run_cell(_case(case_id), "float32", backend, max_examples=5)
    assert cell.status == PASS, cell.message


@pytest.mark.parametrize("backend", [HalfStorageUndeclared], indirect=True)
def test_without_the_declaration_float32_values_break_it(backend):
    cell = run_cell(_case("Mul"), "float32", backend, max_examples=5)
    assert cell.status == FAIL


@pytest.mark.parametrize("backend", [HalfStorageSaturating], indirect=True)
def test_a_half_storage_backend_that_saturates_is_caught(backend):
    cell = run_cell(_case("Mul"), "float32", backend, max_examples=5)
    assert cell.status == FAIL
    assert "NaN/inf" in cell.message and "stored as float16" in cell.repro


def test_half_storage_inputs_hold_halfs_specials_and_only_half_values():
    case = _case("Add")
    fixed = [(e, x) for e, x, _ in _fixed(case, "float32") if x is not None]
    seen: list[np.ndarray] = []

    @given(st.data())
    @settings(max_examples=1, database=None, phases=[Phase.generate])
    def draw(data):
        for edge, offset in fixed:
            ex = build_example(data.draw, case, "float32", edge, offset, storage="float16")
            seen.extend(v for v in ex.inputs if v is not None)

    draw()
    got = np.concatenate([v.ravel() for v in seen])
    assert got.dtype == np.float32
    finite = got[np.isfinite(got)]
    assert np.array_equal(finite, finite.astype(np.float16).astype(np.float32))
    assert np.abs(finite).max() == HALF_MAX  # half's max, never float32's
    assert (finite == np.float32(np.finfo(np.float16).smallest_subnormal)).any()
    assert np.isinf(got).any() and np.isnan(got).any()


def test_round_to_leaves_other_dtypes_alone():
    ints = np.array([70000], np.int32)
    assert storage.round_to(ints, "float16") is ints
    assert storage.round_to(np.array([1e5], np.float32), None)[0] == np.float32(1e5)
    assert np.isinf(storage.round_to(np.array([1e5], np.float32), "float16")[0])
    assert storage.round_to(np.array([1e-9], np.float32), "float16")[0] == 0
