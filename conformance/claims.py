"""Which cells a backend can claim, known without running anything.

A `KernelBackend` that keeps the stock `compile` runs a node only through a kernel registered for
the node's reference function (one op *version*), and only for the kernel's dtypes of input 0. So
for such a backend the suite knows up front which versions of an op it claims:

- a cell whose version has no kernel (or whose dtype the kernel excludes) is "not claimed" at
  once, without drawing examples;
- rows for older versions of an op appear only for the versions the backend claims, and an op
  whose versions are all unclaimed shows one "not claimed" row (its newest version).

Any other backend (subgraph delegates, the reference) may claim anything: every cell runs.
"""

from __future__ import annotations

from typing import Any

from ..plugins.backend import Kernel, KernelBackend
from ..plugins.manager import all_backends, op_registry
from ..refimpl.registry import spec_of
from .case import Case, opset_of


def kernel_table(backend: str) -> dict[Any, Kernel] | None:
    """The backend's kernels by reference function, if it claims through kernels only."""
    obj = all_backends().get(backend)
    if isinstance(obj, KernelBackend) and type(obj).compile is KernelBackend.compile:
        return dict(obj.kernels)
    return None


def resolved(case: Case) -> Any:
    """The reference function a case's node runs (its op version)."""
    return op_registry().resolve(case.domain, case.op, opset_of(case))


def newest(case: Case) -> bool:
    """True if the case exercises the newest version of its op."""
    versions = op_registry().versions(case.domain, case.op)
    fn = resolved(case)
    return not versions or fn is op_registry().resolve(case.domain, case.op, max(versions))


def claimed_versions(table: dict[Any, Kernel], case: Case) -> set[int]:
    """The `since` versions of the case's op that have a kernel in `table`."""
    out = set()
    for fn in table:
        spec = spec_of(fn)
        if spec.op_type == case.op and (spec.domain or "") == (case.domain or ""):
            out.add(spec.since)
    return out


def wanted(table: dict[Any, Kernel] | None, case: Case) -> bool:
    """Whether a backend run lists the case: always for backends of unknown claims; for kernel
    backends, cases of a claimed version, or the newest version when none is claimed."""
    if table is None:
        return True
    if resolved(case) in table:
        return True
    return newest(case) and not claimed_versions(table, case)


def unclaimable(backend: str, case: Case, dtype: str) -> str:
    """Why a kernel backend cannot claim (case, dtype) at all ('' if it may)."""
    table = kernel_table(backend)
    if table is None:
        return ""
    fn = resolved(case)
    found = table.get(fn)
    if found is None:
        name = getattr(fn, "__name__", case.op)
        return f"{backend} has no kernel for {name}"
    # the kernel's dtypes are input 0's; a maker may leave input 0 out (then nothing is checked)
    if found.dtypes is None or not case.args or not isinstance(case.args[0].domain, str):
        return ""
    first = case.args[0].dtype or dtype
    if first not in found.dtypes:
        return f"the {spec_of(fn).op_type} kernel of {backend} takes no {first} input"
    return ""
