"""Running cases: one example, one (case, dtype) cell, a whole backend.

An example runs twice: on the reference alone (`Session(graph, backends=[])`: the oracle) and with
the backend under test (`Session(graph, backends=[NAME])`). The backend must actually run the node
(`placement.backend_of`), else the example is "not claimed". Outputs are compared with the
tolerance table; inputs are checked bit for bit afterwards (a kernel must never write into them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings

from ..refimpl.dtypes import name_of
from ..refimpl.ir import Graph
from .case import Case, Example, draw_example, feeds_of, graph_of
from .compare import compare_outputs, same_bits
from .repro import repro_script
from .tolerances import Tolerance, tolerance

PASS, FAIL, NOT_CLAIMED, XFAIL, XPASS, ERROR = (
    "pass", "fail", "not claimed", "xfail", "xpass", "error"
)  # fmt: skip
UNEXPECTED = (FAIL, XPASS, ERROR)


@dataclass
class ExampleResult:
    status: str
    message: str = ""
    repro: str = ""


@dataclass
class CellResult:
    """The verdict for one (case, dtype) on one backend."""

    case_id: str
    op: str
    domain: str
    dtype: str
    backend: str
    status: str
    examples: int = 0
    claimed: int = 0
    message: str = ""
    repro: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Failed(Exception):
    def __init__(self, result: ExampleResult) -> None:
        super().__init__(result.message)
        self.result = result


def _copies(arrays: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in arrays.items()}


def run_graph(
    graph: Graph,
    feeds: dict[str, np.ndarray],
    backend: str,
    tol_of: Callable[[str], Tolerance],
    title: str,
) -> ExampleResult:
    """Runs `graph` on the reference and on `backend`; `tol_of(dtype)`: an output's tolerance."""
    from ..session import Session

    def fail(status: str, message: str) -> ExampleResult:
        return ExampleResult(status, message, repro_script(graph, feeds, backend, title, message))

    try:
        expected = Session(graph, backends=[]).run(None, _copies(feeds))
    except Exception as err:
        return fail(ERROR, f"the reference raised {type(err).__name__}: {_first(err)}")
    subject = dataclasses.replace(graph, initializers=_copies(graph.initializers))
    from ..plugins.manager import BackendSelectionError

    try:
        sess = Session(subject, backends=[backend])
    except BackendSelectionError:
        raise
    except Exception as err:
        return fail(FAIL, f"building the session raised {type(err).__name__}: {_first(err)}")
    if not any(sess.placement.backend_of.get(n.name) == backend for n in graph.nodes):
        return ExampleResult(NOT_CLAIMED)
    given_feeds = _copies(feeds)
    try:
        actual = sess.run(None, given_feeds)
    except Exception as err:
        return fail(FAIL, f"{backend} raised {type(err).__name__}: {_first(err)}")
    order = {name: k for k, name in enumerate(feeds)}
    mutated = [name for name in feeds if not same_bits(feeds[name], given_feeds[name])]
    mutated += [
        name
        for name, value in subject.initializers.items()
        if not same_bits(graph.initializers[name], value)
    ]
    if mutated:
        which = ", ".join(f"mutated input {_index(n, order)} ({n})" for n in mutated)
        return fail(FAIL, f"{backend} wrote into its inputs: {which}")
    tols = [tol_of(name_of(e.dtype)) if isinstance(e, np.ndarray) else tol_of("") for e in expected]
    problems, _ = compare_outputs(expected, actual, tols)
    if problems:
        return fail(FAIL, "; ".join(problems))
    return ExampleResult(PASS)


def _index(name: str, order: dict[str, int]) -> str:
    return name[1:] if name.startswith("x") and name[1:].isdigit() else str(order.get(name, "?"))


def _first(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else "")[:400]


def run_example(ex: Example, backend: str) -> ExampleResult:
    case = ex.case
    reduced = case.reduced(ex) if case.reduced else 1

    def tol_of(dtype: str) -> Tolerance:
        return tolerance(dtype or ex.dtype, case.tol, reduced, backend, case.id)

    shapes = ", ".join(
        "-" if v is None else f"{name_of(v.dtype)}{list(v.shape)}" for v in ex.inputs
    )
    title = f"{case.id} [{ex.dtype}] on {backend}: inputs ({shapes}), attrs {ex.attrs}"
    return run_graph(graph_of(ex), feeds_of(ex), backend, tol_of, title)


def run_cell(
    case: Case,
    dtype: str,
    backend: str,
    *,
    max_examples: int = 10,
    derandomize: bool = True,
    shrink: bool = True,
) -> CellResult:
    """Runs `max_examples` hypothesis examples of (case, dtype) on `backend`; never raises for a
    failing backend (the failure, shrunk, is in the result)."""
    cell = CellResult(case.id, case.op, case.domain, dtype, backend, PASS)
    start = time.perf_counter()
    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @settings(
        max_examples=max_examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=phases,
        print_blob=False,
    )
    @given(draw_example(case, dtype))
    def check(ex: Example) -> None:
        result = run_example(ex, backend)
        cell.examples += 1
        if result.status != NOT_CLAIMED:
            cell.claimed += 1
        if result.status in (FAIL, ERROR):
            raise _Failed(result)

    try:
        check()
    except _Failed as failed:
        cell.status, cell.message, cell.repro = (
            failed.result.status, failed.result.message, failed.result.repro
        )  # fmt: skip
    except Exception as err:  # Unsatisfiable, Flaky, a harness bug: visible, never fatal
        from ..plugins.manager import BackendSelectionError

        if isinstance(err, BackendSelectionError):
            raise
        cell.status, cell.message = ERROR, f"{type(err).__name__}: {_first(err)}"
    else:
        if cell.claimed == 0:
            cell.status = NOT_CLAIMED
        elif cell.claimed < cell.examples:
            cell.message = f"claimed {cell.claimed} of {cell.examples} examples"
    cell.seconds = time.perf_counter() - start
    return cell
