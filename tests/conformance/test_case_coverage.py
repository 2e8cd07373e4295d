"""Meta-test: every op of the reference registry has a conformance case, or is listed (with a
reason) in conformance/cases/_not_yet_covered.txt — and a listed op that has a case is an error."""

from gossamer.conformance.cases import all_cases, not_yet_covered
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
