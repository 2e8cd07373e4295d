"""Meta-tests of the case table: every op of the reference registry has a conformance case, or is
listed (with a reason) in conformance/cases/_not_yet_covered.txt (a listed op that has a case is an
error); every version of a covered op has a case; every case has fixed edges, and every family
has edges across the SIMD block widths."""

import importlib

from gossamer.conformance.case import opset_of
from gossamer.conformance.cases import MODULES, all_cases, not_yet_covered
from gossamer.plugins.manager import op_registry


def _name(domain: str, op: str) -> str:
    return f"{domain}::{op}" if domain else op


def _covered() -> set[str]:
    return {_name(c.domain, c.op) for c in all_cases()}


def test_every_reference_op_has_a_case_or_a_listed_reason():
    ops = {_name(d, o) for d, o in op_registry().op_types()}
    missing = sorted(ops - _covered() - set(not_yet_covered()))
    assert not missing, (
        f"reference ops without a conformance case: {missing}. Add a case under "
        "conformance/cases/ (or, with a reason, a line in cases/_not_yet_covered.txt)"
    )


def test_not_yet_covered_lists_only_ops_without_cases():
    both = sorted(set(not_yet_covered()) & _covered())
    assert not both, f"these ops have cases now; remove them from _not_yet_covered.txt: {both}"


def test_not_yet_covered_lists_only_existing_ops_with_reasons():
    ops = {_name(d, o) for d, o in op_registry().op_types()}
    listed = not_yet_covered()
    assert not sorted(set(listed) - ops), "entries name ops the reference does not have"
    assert all(reason for reason in listed.values()), "every entry needs a reason"


def test_every_case_names_a_reference_op():
    ops = {_name(d, o) for d, o in op_registry().op_types()}
    assert not sorted(_covered() - ops)


def test_every_version_of_an_op_with_a_case_is_tested():
    """A kernel registered for any version of an op (cast_19, max_pool_10, resize_11, gemm_7...)
    must meet a case at that version: every registry version resolves to some case."""
    registry = op_registry()
    tested = {registry.resolve(c.domain, c.op, opset_of(c)) for c in all_cases()}
    missing = []
    for domain, op in {(c.domain, c.op) for c in all_cases()}:
        for since in registry.versions(domain, op):
            if registry.resolve(domain, op, since) not in tested:
                missing.append(f"{_name(domain, op)}-{since}")
    assert not missing, f"op versions without a case: {sorted(missing)}"


def test_every_case_has_fixed_edges():
    assert not [c.id for c in all_cases() if not c.edges]


def test_every_family_has_edges_across_simd_block_widths():
    """Each family's fixed examples include an input side past one 8-lane block (9, 17, 33...)."""
    for name in MODULES:
        module = importlib.import_module(f"gossamer.conformance.cases.{name}")
        sides = {d for case in module.CASES for edge in case.edges for d in _sides(edge[0])}
        assert {9, 17, 33, 65} & sides, f"{name}: no edge crosses a block width ({sorted(sides)})"


def _sides(shapes) -> list[int]:
    return [d for s in shapes if isinstance(s, tuple) for d in s if isinstance(d, int)]
