"""Mutation testing as a test: every planted kernel bug (mutants.py) is caught by a *default*
`gossamer conformance` run, on the buggy op only, and the mutants span every case family and
every bug class the suite claims to catch. benchmarks/conformance_catch_rate.py measures each
mutant's catch rate over random seeds."""

from __future__ import annotations

import pytest
from gossamer.conformance.cases import MODULES
from gossamer.conformance.suite import run_suite

from .backends import ALL
from .mutants import MUTANTS

BUG_CLASSES = {"block boundary", "ignored attribute", "overflow", "wrong dtype", "wrong shape",
               "in-place write", "version semantics", "rounding mode", "broadcasting"}  # fmt: skip
BAD = ("fail", "error", "xpass")


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_default_run_catches_the_mutant_on_its_op_only(name):
    mutant = MUTANTS[name]
    cells = run_suite(name)  # the CLI defaults: default preset, seed 0, graph cases included
    bad = {(c.case_id, c.dtype): c.message for c in cells if c.status in BAD}
    assert {case for case, _ in bad} & mutant.fails, f"{name}: no failing cell among {mutant.fails}"
    # graph cases run the buggy kernel inside a chain: they may fail too
    elsewhere = {
        k: m for k, m in bad.items() if k[0] not in mutant.fails and not k[0].startswith("graph:")
    }
    assert not elsewhere, f"{name}: cells of correct kernels failed: {elsewhere}"
    passed = {c.case_id for c in cells if c.status == "pass"} - mutant.fails
    assert passed, f"{name}: no correct kernel beside the bug passed"


def test_there_are_at_least_24_mutants_all_registered():
    assert len(MUTANTS) >= 24
    assert all(ALL.get(name) is m.backend for name, m in MUTANTS.items())


def test_mutants_cover_every_bug_class():
    assert BUG_CLASSES <= {m.kind for m in MUTANTS.values()}


def test_mutants_cover_every_case_family():
    families = {m.family for m in MUTANTS.values()}
    assert set(MODULES) <= families, sorted(set(MODULES) - families)


def test_every_mutant_names_existing_cases_of_its_family():
    import importlib

    for name, mutant in MUTANTS.items():
        module = importlib.import_module(f"gossamer.conformance.cases.{mutant.family}")
        ids = {c.id for c in module.CASES}
        assert mutant.fails <= ids, f"{name}: {sorted(mutant.fails - ids)} not in {mutant.family}"
