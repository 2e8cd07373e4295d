"""Checks a MemoryPlan: tensors live at the same step never share bytes unless that is allowed.

Allowed sharing is a view of a value, an in-place write over an input that dies at that step, or
a Concat's part (with its views and in-place writes) inside the Concat's output, holding at the
Concat's step what the Concat assembles; `MemoryPlan.verify()` raises MemoryPlanError with the
problems listed here.
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
    """Within a buffer, a *value* is a tensor written by its node (an owner, a part, an in-place
    write) with the views of it; a *region* is the bytes of the buffer's owner or of a part (a
    Concat's input written into its output), holding the values written in place over it one
    after another: each is dead by the step the next one is written, and only in-place writes
    come after the first. A part's values and the values of its Concat's output live at one
    step only where the part's value is what the Concat assembles (live at the Concat's step,
    written before it)."""
    problems = []
    for buf in plan.buffers:
        if not buf.tensors:
            continue
        value_of, spans = _values(plan, buf.tensors, problems)
        regions: dict[str, list[str]] = {}  # region owner -> its values
        for value in spans:
            owner = _region(plan, value, buf.tensors, problems)
            if owner is not None:
                regions.setdefault(owner, []).append(value)
        owners = [o for o in regions if plan.tensors[o].how == "own"]
        if len(owners) != 1:
            problems.append(f"buffer of {buf.tensors[0]!r} has {len(owners)} owners {owners}")
        for owner, values in regions.items():
            problems += _check_region(plan, owner, values, spans)
        parts: dict[str, list[str]] = {}  # Concat output -> its parts
        for owner in regions:
            t = plan.tensors[owner]
            if t.how == "part":
                parts.setdefault(t.shares or owner, []).append(owner)
        for whole, direct in parts.items():
            problems += _check_parts(plan, whole, direct, regions, value_of, spans)
    return problems


def _values(
    plan: MemoryPlan, names: tuple[str, ...], problems: list[str]
) -> tuple[dict[str, str], dict[str, list[int]]]:
    """Each tensor's value (following views to the written tensor) and each value's span (from
    its write to the last read of it or of a view of it)."""
    value_of: dict[str, str] = {}
    spans: dict[str, list[int]] = {}
    members = set(names)
    for name in names:
        t, root = plan.tensors[name], name
        for _ in range(len(names)):
            r = plan.tensors[root]
            if r.how != "view":
                break
            source = plan.tensors.get(r.shares or "")
            if source is None or r.shares not in members:
                problems.append(f"{name!r} is not in the buffer of {r.shares!r}")
                break
            if (
                not source.offset
                <= r.offset
                <= r.offset + r.nbytes
                <= source.offset + source.nbytes
            ):
                problems.append(f"view {root!r} is not inside {r.shares!r}")
            root = r.shares or root
        value_of[name] = root
        span = spans.setdefault(root, [plan.tensors[root].first, plan.tensors[root].last])
        span[0] = min(span[0], t.first)
        span[1] = max(span[1], t.last)
    return value_of, spans


def _region(
    plan: MemoryPlan, value: str, names: tuple[str, ...], problems: list[str]
) -> str | None:
    """The owner or part whose bytes `value` is written into (following in-place writes and
    the views they write over)."""
    name = value
    for _ in range(len(names)):
        t = plan.tensors[name]
        if t.how in ("own", "part"):
            return name
        source = plan.tensors.get(t.shares or "")
        if source is None or t.shares not in names:
            problems.append(f"{name!r} ({t.how}) is not in the buffer of {t.shares!r}")
            return None
        if t.how == "inplace" and (t.offset, t.nbytes) != (source.offset, source.nbytes):
            problems.append(f"{name!r} is written in place but not over the bytes of {t.shares!r}")
        name = t.shares or name
    problems.append(f"{value!r}: in-place writes form a cycle")
    return None


def _check_region(
    plan: MemoryPlan, owner: str, values: list[str], spans: dict[str, list[int]]
) -> list[str]:
    problems = []
    ordered = sorted(values, key=lambda v: spans[v][0])
    for k, value in enumerate(ordered):
        want = plan.tensors[owner].how if k == 0 else "inplace"
        if k == 0 and value != owner:
            problems.append(f"{value!r} is written over {owner!r} before it")
        if plan.tensors[value].how != want:
            problems.append(f"{value!r} is value {k} of the bytes of {owner!r} but {want!r}")
        before = ordered[k - 1] if k else None
        if before is not None and spans[before][1] > spans[value][0]:
            problems.append(
                f"{value!r} is written at step {spans[value][0]} over {before!r}, "
                f"which is read until step {spans[before][1]}"
            )
    return problems


def _check_parts(
    plan: MemoryPlan,
    whole: str,
    direct: list[str],
    regions: dict[str, list[str]],
    value_of: dict[str, str],
    spans: dict[str, list[int]],
) -> list[str]:
    """The parts of one Concat output `whole`: inside it, apart from one another, and written
    over only while it is not live, except by the value it assembles at its step."""
    problems = []
    w = plan.tensors.get(whole)
    if w is None or whole not in value_of:
        return [f"parts {direct} of {whole!r}, which is not in their buffer"]
    if w.how != "own" or value_of[whole] != whole:
        problems.append(f"{whole!r} has parts but is itself a {w.how!r} (parts of parts)")
        return problems
    extents = sorted((plan.tensors[p].offset, plan.tensors[p].offset + plan.tensors[p].nbytes, p)
                     for p in direct)  # fmt: skip
    for lo, hi, p in extents:
        if lo < w.offset or hi > w.offset + w.nbytes:
            problems.append(f"part {p!r} is not inside {whole!r}")
    for (_, hi, a), (lo, _, b) in zip(extents, extents[1:]):
        if lo < hi:
            problems.append(f"parts {a!r} and {b!r} of {whole!r} overlap")
    step = w.first  # the Concat's step
    outer = regions.get(whole, [whole])
    for part in direct:
        for v in regions.get(part, ()):
            first, last = spans[v]
            for u in outer:
                u_first, u_last = spans[u]
                apart = last <= u_first or first >= u_last
                assembled = u == whole and first < step <= last
                if not apart and not assembled:
                    problems.append(
                        f"{v!r} [{first}, {last}] in part {part!r} is live with {u!r} "
                        f"[{u_first}, {u_last}] over its bytes"
                    )
    return problems
