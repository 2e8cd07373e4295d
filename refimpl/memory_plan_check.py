"""Checks a MemoryPlan: tensors live at the same step never share bytes unless that is allowed.

Allowed sharing is a view of a value, or an in-place write over an input that dies at that step;
`MemoryPlan.verify()` raises MemoryPlanError with the problems listed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .memory_plan import MemoryPlan


def plan_problems(plan: MemoryPlan) -> list[str]:
    """Every inconsistency of `plan`, in words; empty when it is valid."""
    return _check_bounds(plan) + _check_buffers(plan) + _check_sharing(plan)


def _check_bounds(plan: MemoryPlan) -> list[str]:
    problems = []
    for t in plan.tensors.values():
        buf = plan.buffers[t.buffer]
        if t.nbytes and t.offset % plan.alignment:
            problems.append(f"{t.name!r} at offset {t.offset} is not {plan.alignment}-aligned")
        inside = buf.offset <= t.offset and t.offset + t.nbytes <= buf.offset + buf.size
        placed = t.offset == buf.offset or _starts_inside(plan, t.name)
        if not inside or not placed or t.name not in buf.tensors:
            problems.append(f"{t.name!r} does not fit its buffer {t.buffer}")
        if t.offset + t.nbytes > plan.arena_bytes:
            problems.append(f"{t.name!r} ends at {t.offset + t.nbytes} > arena {plan.arena_bytes}")
        if not buf.first <= t.first <= t.last <= buf.last:
            problems.append(f"{t.name!r} lives [{t.first}, {t.last}] outside its buffer's span")
    return problems


def _starts_inside(plan: MemoryPlan, name: str) -> bool:
    """Whether `name` is a Concat's part or a view of a block inside its input's bytes (a Split
    output), or shares such a tensor's bytes: it may start past its buffer's start."""
    for _ in range(len(plan.tensors)):
        t = plan.tensors[name]
        if t.how == "part":
            return True
        if t.shares is None or t.shares not in plan.tensors:
            return False
        source = plan.tensors[t.shares]
        if t.how == "view" and t.offset != source.offset:
            inside = (
                source.offset <= t.offset and t.offset + t.nbytes <= source.offset + source.nbytes
            )
            return inside
        name = t.shares
    return False


def _check_buffers(plan: MemoryPlan) -> list[str]:
    """Buffers live at a common step occupy disjoint bytes."""
    bufs = [b for b in plan.buffers if b.size]
    if not bufs:
        return []
    f = np.array([b.first for b in bufs])
    la = np.array([b.last for b in bufs])
    lo = np.array([b.offset for b in bufs])
    hi = lo + np.array([b.size for b in bufs])
    problems = []
    for i in range(len(bufs) - 1):
        j = slice(i + 1, None)
        bad = (f[j] <= la[i]) & (la[j] >= f[i]) & (lo[j] < hi[i]) & (hi[j] > lo[i])
        for k in np.flatnonzero(bad)[:3]:
            a, b = bufs[i], bufs[i + 1 + k]
            problems.append(
                f"{a.tensors[0]!r} [{a.first}, {a.last}] @ {a.offset}+{a.size} overlaps "
                f"{b.tensors[0]!r} [{b.first}, {b.last}] @ {b.offset}+{b.size}"
            )
    return problems


def _check_sharing(plan: MemoryPlan) -> list[str]:
    """Within a buffer, the values (an owner or in-place write plus its views) follow one another:
    each is dead by the step the next one is written, and only in-place writes come after the
    first."""
    problems = []
    for buf in plan.buffers:
        spans: dict[str, list[int]] = {}
        parts: dict[str, list[tuple[int, int, str]]] = {}  # Concat output -> its parts' bytes
        for name in buf.tensors:
            t, root = plan.tensors[name], name
            while plan.tensors[root].how in ("view", "part"):
                if plan.tensors[root].how == "part":
                    owner = plan.tensors[root].shares or root
                    parts.setdefault(owner, []).append((t.offset, t.offset + t.nbytes, name))
                root = plan.tensors[root].shares or root
                if plan.tensors[root].buffer != t.buffer:
                    problems.append(f"{name!r} is not in the buffer of {root!r}")
                    break
            span = spans.setdefault(root, [plan.tensors[root].first, plan.tensors[root].last])
            span[0] = min(span[0], t.first)
            span[1] = max(span[1], t.last)
        for owner, extents in parts.items():
            direct = sorted(e for e in extents if plan.tensors[e[2]].how == "part")
            for (_, hi, a), (lo, _, b) in zip(direct, direct[1:]):
                if lo < hi:
                    problems.append(f"parts {a!r} and {b!r} of {owner!r} overlap")
        ordered = sorted(spans.items(), key=lambda kv: kv[1][0])
        for k, (root, (start, _)) in enumerate(ordered):
            want = "own" if k == 0 else "inplace"
            if plan.tensors[root].how != want:
                problems.append(f"{root!r} is value {k} of buffer {buf.tensors[0]!r} but {want!r}")
            if k and ordered[k - 1][1][1] > start:
                problems.append(
                    f"{root!r} is written at step {start} over {ordered[k - 1][0]!r}, "
                    f"which is read until step {ordered[k - 1][1][1]}"
                )
    return problems
