"""A whole backend run: the (case, dtype) cells, strict xfails, and the graph-level cases.

    from gossamer.conformance.suite import run_suite
    cells = run_suite("mybackend", ops=["Conv", "Relu"], max_examples=10)

Xfail files (`conformance/xfails/<backend>.txt`, reviewed, strict): one entry a line,
`<case id>  # reason` (every dtype) or `<case id>[<dtype>]  # reason`. A listed cell that passes is
an XPASS, which fails the run like an unexpected failure does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..plugins.manager import op_registry, select_backends
from ..refimpl.errors import GossamerError
from ..refimpl.registry import spec_of
from .case import Case, opset_of
from .cases import all_cases
from .claims import kernel_table, unclaimable
from .claims import wanted as claims_wanted
from .runner import ERROR, FAIL, PASS, XFAIL, XPASS, CellResult, run_cell

XFAIL_DIR = Path(__file__).parent / "xfails"


@dataclass(frozen=True)
class Preset:
    """How much a run checks per cell: drawn examples, and edges on the dtypes after the first
    claimed one (None: every edge on every dtype)."""

    max_examples: int
    extra_edges: int | None


PRESETS = {
    "quick": Preset(max_examples=1, extra_edges=1),
    "default": Preset(max_examples=3, extra_edges=4),
    "thorough": Preset(max_examples=50, extra_edges=None),
}


def edge_share(case: Case, dtype: str, backend: str, extra_edges: int | None) -> tuple[int, int]:
    """Which edges a cell runs, as (k, n): edges whose index is k mod n. The first dtype of the
    case the backend may claim runs them all; each later dtype a different slice of about
    `extra_edges` of them (None: every dtype runs every edge)."""
    if extra_edges is None or not case.edges:
        return (0, 1)
    claimable = [d for d in case_dtypes(case) if not unclaimable(backend, case, d)]
    if not claimable or dtype == claimable[0] or dtype not in claimable:
        return (0, 1)
    n = max(1, -(-len(case.edges) // max(1, extra_edges)))
    return (claimable.index(dtype) - 1, n)


def cells(ops: Iterable[str] | None = None, backend: str | None = None) -> list[tuple[Case, str]]:
    """Every (case, dtype) the reference accepts, optionally only for some ops or case ids. With
    a kernel `backend`, older-version cases only for the versions it claims (see claims.py)."""
    wanted = set(ops) if ops else None
    out: list[tuple[Case, str]] = []
    table = kernel_table(backend) if backend else None
    cases = all_cases()
    onnx_ops = {c.op for c in cases if not c.domain}
    for case in cases:
        # a bare op name means the ONNX op where there is one ("Relu", not tflite::Relu)
        bare = case.op if not case.domain or case.op not in onnx_ops else None
        if wanted is not None and not ({bare, f"{case.domain}::{case.op}", case.id} & wanted):
            continue
        named = wanted is not None and case.id in wanted and case.id != case.op  # a variant id
        if not claims_wanted(table, case) and not named:
            continue
        out += [(case, dtype) for dtype in case_dtypes(case)]
    return out


def case_dtypes(case: Case) -> list[str]:
    """The case's dtypes that the reference accepts for its op version."""
    fn = op_registry().resolve(case.domain, case.op, opset_of(case))
    allowed = spec_of(fn).dtypes if fn is not None else None
    fixed = case.args[0].dtype if case.args else None
    return [d for d in case.dtypes if allowed is None or (fixed or d) in allowed]


def load_xfails(backend: str) -> dict[str, str]:
    """'<case id>' or '<case id>[<dtype>]' -> reason."""
    path = XFAIL_DIR / f"{backend}.txt"
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, reason = line.partition("#")
            out[key.strip()] = reason.strip() or "no reason given"
    return out


def xfail_reason(xfails: dict[str, str], case_id: str, dtype: str) -> str | None:
    return xfails.get(f"{case_id}[{dtype}]", xfails.get(case_id))


def apply_xfail(cell: CellResult, reason: str | None) -> CellResult:
    """Strict xfail: a failure becomes XFAIL (reason kept), a pass becomes XPASS."""
    if reason is None:
        return cell
    if cell.status in (FAIL, ERROR):
        cell.message = f"{reason} (was: {cell.message})"
        cell.status = XFAIL
    elif cell.status == PASS:
        cell.status = XPASS
        cell.message = (
            f"listed as xfail ({reason}) but passes: remove it from xfails/{cell.backend}.txt"
        )
    return cell


def check_backend(backend: str) -> None:
    """Raises BackendSelectionError if the backend does not exist or is unavailable."""
    select_backends([backend])


class ConformanceUsageError(GossamerError):
    """The suite was asked for something that does not exist (an unknown op or case id)."""


def run_suite(
    backend: str,
    *,
    ops: Iterable[str] | None = None,
    max_examples: int | None = None,
    graphs: bool = True,
    shrink: bool = True,
    seed: int = 0,
    edges: bool = True,
    preset: str = "default",
    progress: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    """Runs every cell (and the graph-level cases) on `backend`, xfails applied. `preset` (quick,
    default, thorough) sets the drawn examples per cell (`max_examples` overrides it) and how the
    edges are dealt across dtypes; `seed` picks the drawn examples (the fixed edge and extremes
    examples run in every run unless `edges` is False)."""
    chosen = PRESETS[preset]
    max_examples = chosen.max_examples if max_examples is None else max_examples
    from .graph_cases import GRAPH_CASES, run_graph_cases

    check_backend(backend)
    wanted = list(ops) if ops else None
    graph_names: tuple[str, ...] | None = None
    if wanted is not None:
        graph_names = tuple(o.split(":", 1)[1] for o in wanted if o.startswith("graph:"))
        known = {c.op for c in all_cases()} | {c.id for c in all_cases()}
        known |= {f"graph:{name}" for name in GRAPH_CASES}
        unknown = [o for o in wanted if o not in known]
        if unknown:  # a typo must not give a silent green run
            raise ConformanceUsageError(
                f"--ops names no case: {unknown}; ops and case ids are listed by "
                "`gossamer conformance --backend reference` (graph cases: "
                + ", ".join(f"graph:{n}" for n in GRAPH_CASES)
                + ")"
            )
    xfails = load_xfails(backend)
    results: list[CellResult] = []
    op_names = None if wanted is None else [o for o in wanted if not o.startswith("graph:")]
    for case, dtype in cells(op_names, backend) if op_names is None or op_names else []:
        share = edge_share(case, dtype, backend, chosen.extra_edges)
        cell = run_cell(case, dtype, backend, max_examples=max_examples, shrink=shrink,
                        seed=seed, edges=edges, edge_share=share)  # fmt: skip
        results.append(apply_xfail(cell, xfail_reason(xfails, case.id, dtype)))
        if progress:
            progress(results[-1])
    if graphs and (graph_names is None or graph_names):
        for cell in run_graph_cases(backend, names=graph_names):
            results.append(apply_xfail(cell, xfail_reason(xfails, cell.case_id, cell.dtype)))
            if progress:
                progress(results[-1])
    return results


def stale_xfails(backend: str, results: list[CellResult]) -> list[str]:
    """Xfail entries that match no cell of a full run (typos, removed cases)."""
    keys = {r.case_id for r in results} | {f"{r.case_id}[{r.dtype}]" for r in results}
    return sorted(k for k in load_xfails(backend) if k not in keys)


__all__ = ["PRESETS", "XFAIL", "cells", "edge_share", "load_xfails", "run_suite", "stale_xfails"]
