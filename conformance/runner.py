"""Running cases: one example, one (case, dtype) cell.

An example runs with the backend under test (`Session(graph, backends=[NAME])`), which must
actually run the node (`placement.backend_of`), else the example is "not claimed" and nothing
else runs; then on the oracle, the reference interpreter alone. Outputs are compared with the
tolerance table; inputs are checked bit for bit afterwards (a kernel must never write into them).

A cell runs its fixed examples first (the case's edges, then the extreme-value examples; one
hypothesis run drawing only what the edges leave open), then `max_examples` drawn examples
(shrunk on failure), both seeded per cell.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from ..refimpl.dtypes import name_of
from ..refimpl.errors import PerformanceWarning
from ..refimpl.interpreter import Program
from ..refimpl.ir import Graph
from . import special_values
from .case import (
    Case,
    Edge,
    Example,
    build_example,
    draw_example,
    feeds_of,
    graph_of,
    np_dtype,
    takes_specials,
)
from .claims import unclaimable
from .output_check import compare_outputs, same_bits
from .repro import repro_script
from .storage import round_to, storage_dtype
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
    storage: str | None = None,
) -> ExampleResult:
    """Runs `graph` on the reference and on `backend`; `tol_of(dtype)`: an output's tolerance;
    `storage`: the backend's storage_dtype (the reference's outputs are rounded to it)."""
    from ..session import Session

    def fail(status: str, message: str) -> ExampleResult:
        return ExampleResult(status, message, repro_script(graph, feeds, backend, title, message))

    subject = dataclasses.replace(graph, initializers=_copies(graph.initializers))
    from ..plugins.manager import BackendSelectionError

    try:
        with warnings.catch_warnings():  # "not claimed" is an outcome here, read from the placement
            warnings.simplefilter("ignore", PerformanceWarning)
            sess = Session(subject, backends=[backend])
    except BackendSelectionError:
        raise
    except Exception as err:
        try:
            Session(graph, backends=[])
        except Exception as ref_err:  # the example itself is bad: a generator or reference bug
            return fail(ERROR, f"the reference raised {type(ref_err).__name__}: {_first(ref_err)}")
        return fail(FAIL, f"building the session raised {type(err).__name__}: {_first(err)}")
    if not any(sess.placement.backend_of.get(n.name) == backend for n in graph.nodes):
        return ExampleResult(NOT_CLAIMED)  # the oracle need not run
    try:
        expected = [round_to(e, storage) for e in oracle(graph, feeds)]
    except Exception as err:
        return fail(ERROR, f"the reference raised {type(err).__name__}: {_first(err)}")
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


def oracle(graph: Graph, feeds: dict[str, np.ndarray]) -> list[Any]:
    """The reference interpreter's outputs (no session: nothing to place or plan)."""
    env = Program(graph).run(_copies(feeds))
    return [env[v.name] for v in graph.outputs]


def _index(name: str, order: dict[str, int]) -> str:
    return name[1:] if name.startswith("x") and name[1:].isdigit() else str(order.get(name, "?"))


def _first(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else "")[:400]


def run_example(
    ex: Example, backend: str, origin: str = "", storage: str | None = None
) -> ExampleResult:
    case = ex.case
    reduced = case.reduced(ex) if case.reduced else 1

    def tol_of(dtype: str) -> Tolerance:
        return tolerance(dtype or ex.dtype, case.tol, reduced, backend, case.id)

    shapes = ", ".join(
        "-" if v is None else f"{name_of(v.dtype)}{list(v.shape)}" for v in ex.inputs
    )
    title = f"{case.id} [{ex.dtype}] on {backend}: inputs ({shapes}), attrs {ex.attrs}"
    if origin:
        title += f" ({origin})"
    if storage is not None:
        title += f" (stored as {storage})"
    return run_graph(graph_of(ex), feeds_of(ex), backend, tol_of, title, storage)


def cell_seed(seed: int, case_id: str, dtype: str) -> int:
    """The hypothesis seed of one cell: stable across runs and processes, distinct per cell."""
    digest = hashlib.sha256(f"{seed}:{case_id}:{dtype}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _settings(max_examples: int, phases: list[Phase]) -> settings:
    return settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=phases,
        print_blob=False,
    )


def _fixed(
    case: Case, dtype: str, share: tuple[int, int] = (0, 1)
) -> list[tuple[Edge, int | None, str]]:
    """The fixed examples of a cell: the edges (those with index k mod n for share (k, n)), then
    the extremes examples (on the largest edge, enough offsets that every special value appears
    in each special-taking input)."""
    k0, n = share
    out: list[tuple[Edge, int | None, str]] = [
        (edge, None, f"edge {k} of {case.id}")
        for k, edge in enumerate(case.edges)
        if k % n == k0 % n
    ]
    if not case.edges or not takes_specials(case) or dtype in ("bool", "string"):
        return out
    k, edge = max(enumerate(case.edges), key=lambda e: _elements(e[1][0]))
    size, pool = max(1, _elements(edge[0])), special_values.pool_size(np_dtype(dtype))
    for n in range(min(4, -(-pool // size))):
        out.append((edge, n * size, f"extremes {n} on edge {k} of {case.id}"))
    return out


def _elements(shapes: tuple[Any, ...]) -> int:
    """Elements of the largest plain shape among drawn shapes (an edge's size, for ranking)."""
    sizes = [
        int(np.prod(s))
        for s in shapes
        if isinstance(s, tuple) and all(isinstance(d, (int, np.integer)) for d in s)
    ]
    return max(sizes, default=0)


def run_cell(
    case: Case,
    dtype: str,
    backend: str,
    *,
    max_examples: int = 3,  # the default preset's
    derandomize: bool = True,
    shrink: bool = True,
    seed: int = 0,
    edges: bool = True,
    edge_share: tuple[int, int] = (0, 1),
) -> CellResult:
    """Runs the fixed examples (edges, extremes) and `max_examples` hypothesis examples of
    (case, dtype) on `backend`; never raises for a failing backend (the failure, shrunk for drawn
    examples, is in the result). Derandomised runs draw from a seed derived from `seed`, the case
    and the dtype (so two seeds give two different, reproducible runs). `edge_share` (k, n): run
    only the edges whose index is k mod n (the suite deals a case's edges across its dtypes)."""
    cell = CellResult(case.id, case.op, case.domain, dtype, backend, PASS)
    start = time.perf_counter()
    why_not = unclaimable(backend, case, dtype)
    if why_not:
        cell.status, cell.message = NOT_CLAIMED, why_not
        return cell
    use_seed = cell_seed(seed, case.id, dtype) if derandomize else None
    storage = storage_dtype(backend)

    def record(result: ExampleResult) -> None:
        cell.examples += 1
        if result.status != NOT_CLAIMED:
            cell.claimed += 1
        if result.status in (FAIL, ERROR):
            raise _Failed(result)

    @_settings(1, [Phase.generate])
    @given(st.data())
    def check_fixed(data: st.DataObject) -> None:
        for edge, extremes, origin in fixed:
            ex = build_example(data.draw, case, dtype, edge, extremes, storage)
            record(run_example(ex, backend, origin, storage))

    phases = [Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if shrink else [])

    @_settings(max(1, max_examples), phases)
    @given(draw_example(case, dtype, storage))
    def check(ex: Example) -> None:
        record(run_example(ex, backend, storage=storage))

    fixed = _fixed(case, dtype, edge_share) if edges else []
    tests = ([check_fixed] if fixed else []) + ([check] if max_examples > 0 else [])
    try:
        for test in tests:
            _prepare(test, use_seed)
            test()
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


def _prepare(test: Any, use_seed: int | None) -> None:
    if use_seed is not None:
        seed(use_seed)(test)
    # The database is off; a fixed key spares hypothesis hashing the test's source on every call
    # (a private attribute: without it, only that speed-up is lost).
    test._hypothesis_internal_database_key = b"gossamer-conformance"
