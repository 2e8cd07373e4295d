"""The conformance suite as a pytest plugin (entry point `pytest11`: gossamer_conformance).

Any test that takes the `gossamer_cell` argument is parametrised with one item per
(backend, case, dtype) and per graph-level case:

    import pytest
    pytestmark = pytest.mark.gossamer_backends("reference")  # default when no option is given

    def test_conformance(gossamer_cell):
        gossamer_cell.check()

Options: `--gossamer-backend NAME` (repeatable or comma list; overrides the marker),
`--gossamer-ops Conv,Relu`, `--gossamer-preset quick|default|thorough`, `--gossamer-max-examples N`
(default: the preset's), `--gossamer-seed N`. Derandomisation follows the active hypothesis
profile (derandomised: the seed option picks the drawn examples; else they are random). Every
item runs its fixed edge and extreme-value examples. Verdicts: pass; FAIL with a runnable repro in
the message; not claimed = skip; a listed xfail = xfail (strict: an xfail that passes fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

FIXTURE = "gossamer_cell"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gossamer-conformance", "Gossamer backend conformance")
    group.addoption("--gossamer-backend", action="append", default=[], metavar="NAME",
                    help="backend(s) under test (repeatable, or a comma list)")  # fmt: skip
    group.addoption("--gossamer-ops", default="", metavar="OPS",
                    help="only these ops or case ids (comma list)")  # fmt: skip
    group.addoption("--gossamer-max-examples", type=int, default=None, metavar="N",
                    help="drawn examples per (case, dtype) (default: the preset's)")  # fmt: skip
    group.addoption("--gossamer-preset", default="default", metavar="NAME",
                    choices=["quick", "default", "thorough"],
                    help="quick, default or thorough (as gossamer conformance)")  # fmt: skip
    group.addoption("--gossamer-seed", type=int, default=0, metavar="N",
                    help="seed of the drawn examples when derandomised (default 0)")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "gossamer_backends(*names): backends the conformance items run on by default"
    )


@dataclass
class ConformanceItem:
    """One parametrised conformance check; `check()` is the test body."""

    backend: str
    case_id: str
    dtype: str
    max_examples: int | None = None
    preset: str = "default"
    seed: int = 0

    def check(self) -> None:
        from hypothesis import settings

        from .cases import all_cases
        from .graph_cases import run_graph_cases
        from .runner import ERROR, FAIL, NOT_CLAIMED, XFAIL, XPASS, run_cell
        from .suite import PRESETS, apply_xfail, edge_share, load_xfails, xfail_reason

        if self.case_id.startswith("graph:"):
            name = self.case_id.split(":", 1)[1]
            (cell,) = run_graph_cases(self.backend, names=(name,))
        else:
            case = next(c for c in all_cases() if c.id == self.case_id)
            preset = PRESETS[self.preset]
            examples = preset.max_examples if self.max_examples is None else self.max_examples
            share = edge_share(case, self.dtype, self.backend, preset.extra_edges)
            cell = run_cell(case, self.dtype, self.backend, max_examples=examples,
                            derandomize=bool(settings.default.derandomize), seed=self.seed,
                            edge_share=share)  # fmt: skip
        reason = xfail_reason(load_xfails(self.backend), self.case_id, self.dtype)
        cell = apply_xfail(cell, reason)
        if cell.status == NOT_CLAIMED:
            pytest.skip(f"{self.backend} does not claim {self.case_id} [{self.dtype}]")
        if cell.status == XFAIL:
            pytest.xfail(cell.message)
        if cell.status in (FAIL, ERROR, XPASS):
            text = f"{cell.status.upper()}: {cell.message}"
            if cell.repro:
                text += "\n\nrepro:\n" + cell.repro
            pytest.fail(text, pytrace=False)


def _backends(metafunc: pytest.Metafunc) -> list[str]:
    given = [b.strip() for item in metafunc.config.getoption("gossamer_backend")
             for b in item.split(",") if b.strip()]  # fmt: skip
    if given:
        return given
    marker = metafunc.definition.get_closest_marker("gossamer_backends")
    return list(marker.args) if marker else []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        return
    from .graph_cases import GRAPH_CASES
    from .suite import cells

    ops = [o.strip() for o in metafunc.config.getoption("gossamer_ops").split(",") if o.strip()]
    max_examples = metafunc.config.getoption("gossamer_max_examples")
    preset = metafunc.config.getoption("gossamer_preset")
    seed = metafunc.config.getoption("gossamer_seed")
    params: list[Any] = []
    for backend in _backends(metafunc):
        for case, dtype in cells(ops or None, backend):
            params.append(ConformanceItem(backend, case.id, dtype, max_examples, preset, seed))
        if not ops:
            params += [ConformanceItem(backend, f"graph:{g}", "float32") for g in GRAPH_CASES]
    ids = [f"{p.backend}:{p.case_id}[{p.dtype}]" for p in params]
    metafunc.parametrize(FIXTURE, params, ids=ids)
