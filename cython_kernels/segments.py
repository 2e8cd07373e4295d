"""Segments: runs of consecutive cython steps executed by one call into C (src/plan.h).

A Program whose kernels are marked `traceable` records its second run through a
`Recorder` (the interpreter's SegmentBuilder hook): around each traceable step the extension's
wrappers record every C call the kernel makes (wrappers/plan.pxi), with the exact pointers, sizes
and thread count. A step's calls can be replayed without Python when
- every pointer lies in one of the step's inputs or outputs, the arena, an initializer, a
  scratch() buffer, or an array that outlives the call (packed weights, epilogue tables): a
  temporary the kernel built from data (a padded copy) disqualifies the step;
- every input that is not an initializer is read through a pointer (so no value of it was read by
  Python and baked into the call), and every output is written through one;
- the kernel did not decline (no reference fallback).
View ops (Reshape, Flatten, Squeeze, Unsqueeze, Identity) whose output is a view of input 0 and
whose other inputs are initializers are replayed as nothing at all.

Shape constants: a recording runs at one input-shape signature (a static graph's, or one variant
of refimpl/shape_arenas.py), so a value computed from tensor shapes and constants alone (a Shape
of a tensor of planned size, then Gather, Cast, Range, ConstantOfShape, Concat, ... of such
values and initializers: the anchor grid of a detector's head) is the same on every run the
segment is used for. Such values count as initializers (a kernel may read them in Python: an
Expand's target shape, a Reshape's), and a step that made such values without recordable calls
(a reference op: Shape, Range, ...) is replayed as nothing: its recorded results, at most
SHAPE_CONSTANT_LIMIT bytes each and not in the arena, are kept by the segment and handed on.

Maximal runs of such steps become one `Plan` each. Memory that moves between runs is handled by
address: pointers into a value coming from outside the segment and not living in the arena (a
graph input, a tensor a reference op allocated) are patched per run from that run's array;
outputs a kernel allocated (graph outputs) and scratch buffers get private buffers owned by the
segment. Each segment is verified once when built: the arena and its private buffers are filled
with a pattern, the recorded inputs are put back, the plan runs, and every value it hands on must
equal the node-by-node result bit for bit (compared with the recording's copy of it), else the
segment is dropped (with a warning). The recording keeps a copy of a value only while a segment
might still need it as an input or hand it on: a value whose readers have all been recorded, with
only segment-able steps from its producer to its last reader, lies inside one segment and its
copy is dropped (so the recording run's peak memory stays near the run's own, not the sum of
every value; no digest of every value is taken: a 128-bit blake2b of each cost more than the
rest of the recording).

A segment runs only when its inputs have the recorded shapes, dtypes and (for arena values)
addresses, and the thread count is the recorded one; otherwise its steps run one by one.
GOSSAMER_SEGMENTS=0 turns segments off.
"""

from __future__ import annotations

import logging
import os
import weakref
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins.run_context import current_threads
from ..refimpl.errors import NodeExecutionError
from ..refimpl.ir import Node
from ..refimpl.memory_plan import VIEW_OPS
from ..refimpl.registry import NONDETERMINISTIC_OPS
from . import _native
from ._common import SCRATCH_BUFFERS, aligned_empty
from ._native import ext

log = logging.getLogger("gossamer.cython_kernels")
_EPILOGUES = ("Epilogue", "QEpilogue")
_PATTERN = 0xA5  # what the arena holds while a segment is verified
# why a segment cut inside a run of segment-able steps is not used: the recording released the
# copy of an input it would need (it kept only its digest)
_RELEASED = "an input's copy was released by the recording (a cut inside a run)"
# the self-check keeps copies of the values a segment may take as inputs: past this many bytes held
# at once a recording stops (such a model's nodes are large: one call each costs little beside them)
RECORD_LIMIT = 64 << 20
# the largest result of a step a segment keeps as a shape constant (the values its readers see)
SHAPE_CONSTANT_LIMIT = 64 << 10
# ops that read only their input's shape
_SHAPE_OPS = frozenset({"Shape", "Size"})


def enabled() -> bool:
    return os.environ.get("GOSSAMER_SEGMENTS", "1").strip() != "0"


def traceable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a prepared kernel whose every call does nothing but instrumented C calls (plus
    views and metadata), so that its recorded calls can replace it."""
    fn.traceable = True  # type: ignore[attr-defined]
    fn.segment_builder = recorder  # type: ignore[attr-defined]
    return fn


def numpy_work() -> None:
    """Called by a traceable kernel before numpy work on data: this call cannot be replayed."""
    ext().trace_untraceable()


def recorder(program: Any) -> Recorder | None:
    return Recorder(program) if enabled() and ext() is not None else None


# segments replay calls recorded with one thread count: the interpreter keeps a schedule per count
recorder.context_key = current_threads  # type: ignore[attr-defined]


def run_starts() -> None:
    """Wakes the thread pool's sleeping workers as a run begins (src/threadpool.h
    gk_pool_prewake), so that their wake-up overlaps the run's Python work instead of delaying
    its first parallel kernel; GOSSAMER_PREWAKE=0 turns it off (for A/B timings). A run on one
    thread has no workers to wake: no call."""
    if _PREWAKE is not None:
        threads = current_threads()
        if threads > 1:
            _PREWAKE(threads)


_PREWAKE = (
    getattr(_native._ext, "pool_prewake", None)
    if os.environ.get("GOSSAMER_PREWAKE", "1").strip() != "0"
    else None
)
recorder.run_starts = run_starts  # type: ignore[attr-defined]


# program -> node label -> why that step is not in a segment (its last recording)
_SPLITS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def split_reasons(program: Any) -> dict[str, str]:
    """node label -> why the step runs outside segments, from `program`'s recording (empty before
    one): "not traceable: Op" for a kernel not marked traceable or a reference node, else the
    recorder's reason (a temporary array, numpy work, a decline, ...)."""
    return dict(_SPLITS.get(program, {}))


def shape_constants(
    nodes: list[Node], initializers: set[str], fixed: set[str], outputs: set[str]
) -> tuple[set[str], set[int]]:
    """(values, steps): the values computed from shapes and constants alone, at a recording's one
    input-shape signature (see the module docstring), and the steps that may be kept as shape
    constants (every output such a value, none a graph output). `fixed`: the values whose shape is
    the same on every run (planned in the arena, graph inputs, initializers): a Shape or Size of
    one is a shape constant, as is any deterministic op of the default domain whose inputs are
    all initializers or shape constants."""
    known: set[str] = set()
    steps: set[int] = set()
    for i, node in enumerate(nodes):
        if node.domain not in ("", "ai.onnx") or node.op_type in NONDETERMINISTIC_OPS:
            continue
        if next(node.subgraphs(), None) is not None:
            continue
        ins = [n for n in node.inputs if n]
        if node.op_type in _SHAPE_OPS:
            ok = len(ins) == 1 and (ins[0] in fixed or ins[0] in known)
        else:
            ok = bool(ins) and all(n in initializers or n in known for n in ins)
        outs = [n for n in node.outputs if n]
        if not ok or not outs:
            continue
        known.update(outs)
        if not any(n in outputs for n in outs):
            steps.add(i)
    return known, steps


def _assembled_concat(node: Node, args: list[Any], results: list[Any]) -> bool:
    """A Concat that copied nothing: its inputs lie in its output, one after another."""
    if node.op_type != "Concat" or node.domain not in ("", "ai.onnx") or len(results) != 1:
        return False
    y = results[0]
    if not isinstance(y, np.ndarray) or not y.size or not y.flags.c_contiguous:
        return False
    at = y.ctypes.data
    for x in args:
        if not isinstance(x, np.ndarray) or (x.size and x.ctypes.data != at):
            return False
        at += x.nbytes
    return at == y.ctypes.data + y.nbytes


def _block_views(node: Node, args: list[Any], results: list[Any]) -> bool:
    """A Split or Slice that copied nothing: its outputs are views inside its input (the memory
    plan's blocks)."""
    if node.op_type not in ("Split", "Slice") or not args or not isinstance(args[0], np.ndarray):
        return False
    x = args[0]
    if not x.size or not all(isinstance(y, np.ndarray) and y.base is not None for y in results):
        return False
    lo, hi = _bounds(x)
    return all(lo <= _bounds(y)[0] and _bounds(y)[1] <= hi for y in results if y.size)


def _bounds(a: np.ndarray) -> tuple[int, int]:
    lo, hi = np.lib.array_utils.byte_bounds(a)
    return int(lo), int(hi)


def _merged(ranges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The union of [lo, hi) ranges as sorted, disjoint (starts, ends)."""
    starts: list[int] = []
    ends: list[int] = []
    for lo, hi in sorted(ranges):
        if starts and lo <= ends[-1]:
            ends[-1] = max(ends[-1], hi)
        else:
            starts.append(lo)
            ends.append(hi)
    return starts, ends


def _root(obj: Any) -> Any:
    """The object owning obj's memory (following .base of arrays and memoryviews)."""
    for _ in range(64):
        base = getattr(obj, "base", None)
        if base is None or base is obj:
            return obj
        obj = base
    return obj


def _same(want: np.ndarray, got: np.ndarray) -> bool:
    """What the self-check asks of a value: the same shape, dtype and bytes (bit for bit: a NaN
    equals itself, -0.0 differs from 0.0)."""
    if want.shape != got.shape or want.dtype != got.dtype:
        return False
    if want.dtype.hasobject:
        return bool(np.array_equal(want, got))
    a = np.ascontiguousarray(want).reshape(-1).view(np.uint8)  # an empty value: no bytes
    return bool(np.array_equal(a, np.ascontiguousarray(got).reshape(-1).view(np.uint8)))


class _Record:
    """One recorded step: its values, its calls and where each pointer of them points (a plain
    class: a dataclass costs ~0.7 ms to define, on a first load's path)."""

    __slots__ = tuple("node args results calls alias assembled why pointers held const".split())

    def __init__(
        self, node: Node, args: list[Any], results: list[Any], calls: list[Any], alias: bool = False
    ) -> None:
        self.node = node
        self.args = args
        self.results = results
        self.calls = calls
        self.alias = alias
        self.assembled = False  # a Concat whose inputs the memory plan put in its output: no calls
        self.why = ""
        self.pointers: list[list[tuple[int, int]]] = []  # per call (slot, addr)
        self.held: list[Any] = []  # arrays that outlive the call
        self.const = False  # a shape constant's step: replayed as nothing, its results kept


class Recorder:
    """The SegmentBuilder of the cython backend (see refimpl/interpreter.py)."""

    def __init__(self, program: Any) -> None:
        self.program = program
        self.threads = current_threads()
        self.records: dict[int, _Record] = {}
        # copies of the values a segment may take as input or hand on (compared by the check)
        self.snap: dict[str, np.ndarray] = {}
        self.seen: set[str] = set()  # every value recorded
        self.produced_at: dict[str, int] = {}  # value -> the step that produced it
        self.last_split = -1  # the latest step that cannot be in a segment
        self.last_read: dict[str, int] = {}
        for i, node in enumerate(program.nodes):
            for name in node.inputs:
                if name:
                    self.last_read[name] = i
        for value in program.graph.outputs:
            self.last_read[value.name] = len(program.nodes)
        self.tracing = False
        arena = program.arena
        self.arena_buffer = arena.buffer
        self.arena_range = _bounds(arena.buffer)
        self.initializers = program.graph.constant_initializers()
        self.init_ranges = [
            _bounds(a) for a in self.initializers.values() if isinstance(a, np.ndarray) and a.size
        ]
        # the arena and the initializers, merged and sorted: a pointer is looked up by bisection
        self.fixed_lo, self.fixed_hi = _merged([self.arena_range, *self.init_ranges])
        # id -> (array, bounds): the arrays this recording asked about, held so ids stay theirs
        # (numpy's byte_bounds reads __array_interface__: ~2 us a call, ~1,000 calls a recording)
        self.bounds_of: dict[int, tuple[np.ndarray, tuple[int, int]]] = {}
        self.scratch: dict[int, tuple[int, int]] = {}  # scratch() buffers seen: id -> bounds
        self.scratch_copies: dict[int, np.ndarray] = {}  # id -> this program's own copy
        self.snapped = 0  # bytes in snap
        self.abandoned = arena.nbytes > RECORD_LIMIT
        outputs = {v.name for v in program.graph.outputs}
        planned = set(arena.plan.tensors) if getattr(arena, "plan", None) is not None else set()
        fixed = planned | {v.name for v in program.graph.inputs} | set(self.initializers)
        self.constants, self.const_steps = shape_constants(
            program.nodes, set(self.initializers), fixed, outputs
        )

    # ---- recording (SegmentBuilder) -------------------------------------------------------------
    def before(self, index: int, node: Node, impl: Callable[..., Any]) -> None:
        if self.abandoned:
            return
        if getattr(impl, "traceable", False):
            ext().trace_begin()
            self.tracing = True

    def after(
        self, index: int, node: Node, args: list[Any], results: list[Any], declined: bool
    ) -> None:
        calls: list[Any] | None = None
        if self.tracing:
            calls = ext().trace_end()
            self.tracing = False
        elif node.op_type in VIEW_OPS and node.domain in ("", "ai.onnx"):
            calls = []
        const = calls is None and index in self.const_steps
        if const:
            calls = []
        if self.abandoned:
            return
        for name, value in zip(node.inputs, args):
            if name and name not in self.seen and name not in self.initializers:
                if isinstance(value, np.ndarray):
                    self._snap(name, value)
        for name, value in zip(node.outputs, results):
            if name and isinstance(value, np.ndarray):
                self.produced_at[name] = index
                if name in self.last_read:
                    self._snap(name, value)
                else:  # nothing reads it: no segment hands it on
                    self.seen.add(name)
        if self.snapped > RECORD_LIMIT:
            self.abandoned = True
            self.snap.clear()
            return
        if const:
            self.records[index] = self._constant(node, list(args), list(results))
        elif calls is not None:
            self.records[index] = self._classify(node, list(args), list(results), calls, declined)
        if calls is None or self.records[index].why:
            self.last_split = index
        self._release(index, node)

    def _release(self, index: int, node: Node) -> None:
        """Drops the copies of this step's inputs that no segment can take as inputs: their
        last reader is this step, and every step since their producer can be in a segment (a
        `_build` cut inside such a run drops the segment that would need one: it fails its
        self-check, a warning says so)."""
        for name in node.inputs:
            if not name or self.last_read.get(name) != index or name not in self.snap:
                continue
            made = self.produced_at.get(name)
            if made is not None and made > self.last_split:
                self.snapped -= self.snap.pop(name).nbytes

    def _snap(self, name: str, value: np.ndarray) -> None:
        self.seen.add(name)
        old = self.snap.get(name)
        self.snapped += value.nbytes - (old.nbytes if old is not None else 0)
        self.snap[name] = value.copy()

    def close(self) -> None:
        if self.tracing:
            ext().trace_end()
            self.tracing = False

    def _constant(self, node: Node, args: list[Any], results: list[Any]) -> _Record:
        """The record of a step that computed shape constants without recordable calls: its
        results (arrays outside the arena, small) are kept and handed on by the segment."""
        rec = _Record(node, args, results, [])
        rec.const = True
        lo, hi = self.arena_range
        for a in results:
            if not isinstance(a, np.ndarray):
                rec.why = "a value that is not an array"
            elif a.nbytes > SHAPE_CONSTANT_LIMIT:
                rec.why = "a shape constant too large to keep"
            elif a.size and not (_bounds(a)[1] <= lo or hi <= _bounds(a)[0]):
                rec.why = "a shape constant in the arena"
        rec.held = [] if rec.why else [_root(a) for a in results]
        return rec

    def _classify(
        self, node: Node, args: list[Any], results: list[Any], calls: list[Any], declined: bool
    ) -> _Record:
        alias = (
            not calls
            and node.domain in ("", "ai.onnx")
            and (node.op_type in VIEW_OPS or _block_views(node, args, results))
        )
        rec = _Record(node, args, results, calls, alias=alias)
        rec.assembled = not calls and _assembled_concat(node, args, results)
        if declined:
            rec.why = "the kernel declined"
        elif any(c is None for c in calls):
            rec.why = "a call that cannot be recorded"
        elif any(a is not None and not isinstance(a, np.ndarray) for a in args + results):
            rec.why = "a value that is not an array"
        if rec.why:
            rec.calls = []
            return rec
        owners: dict[int, tuple[weakref.ref, int, int]] = {}
        for call in calls:
            for obj in call.keep:
                root = _root(obj) if obj is not None else None
                if isinstance(root, np.ndarray) and root.size and id(root) not in owners:
                    # (not self._bounds: that would hold a temporary the kernel dropped)
                    owners[id(root)] = (weakref.ref(root), *_bounds(root))
                root = None
            call.hold(tuple(o for o in call.keep if type(o).__name__ in _EPILOGUES))
            rec.pointers.append(call.pointers())
        obj = None
        live = [(lo, hi, ref()) for ref, lo, hi in owners.values() if ref() is not None]
        rec.why = self._check(rec, live)
        return rec

    def _bounds(self, a: np.ndarray) -> tuple[int, int]:
        """_bounds(a) of an array the recording holds anyway (a step's value, a scratch buffer)."""
        known = self.bounds_of.get(id(a))
        if known is not None and known[0] is a:
            return known[1]
        got = _bounds(a)
        self.bounds_of[id(a)] = (a, got)
        return got

    def _check(self, rec: _Record, live: list[tuple[int, int, Any]]) -> str:
        """Why the step's calls cannot stand for it, or ''."""
        node = rec.node
        ins = [(n, a) for n, a in zip(node.inputs, rec.args) if n and a is not None and a.size]
        outs = [(n, a) for n, a in zip(node.outputs, rec.results) if n and a is not None]
        addrs = [addr for ptrs in rec.pointers for _, addr in ptrs]
        known = [self._bounds(a) for _, a in outs + ins if a.size]
        for buf in list(SCRATCH_BUFFERS.values()):
            lo, hi = self._bounds(buf)
            self.scratch.setdefault(id(buf), (lo, hi))
            known.append((lo, hi))
        known += [(lo, hi) for lo, hi, _ in live]
        fixed_lo, fixed_hi = self.fixed_lo, self.fixed_hi
        for addr in addrs:
            at = bisect_right(fixed_lo, addr) - 1
            if at >= 0 and addr < fixed_hi[at]:
                continue  # in the arena or an initializer
            if not any(lo <= addr < hi for lo, hi in known):
                return "a pointer to a temporary array"
        rec.held = [obj for lo, hi, obj in live if any(lo <= a < hi for a in addrs)]
        if rec.assembled:
            return ""  # every input lies in the output already: nothing to replay
        for name, a in ins:
            if name in self.initializers or name in self.constants:
                continue  # (a shape constant: the same value on every run at this signature)
            if rec.alias and name == node.inputs[0]:
                continue
            lo, hi = self._bounds(a)
            if not any(lo <= addr < hi for addr in addrs):
                return f"input {name!r} is not read by the C calls"
        for name, a in outs:
            if not a.size:
                continue
            lo, hi = self._bounds(a)
            if rec.alias:
                first = rec.args[0] if rec.args else None
                if first is None or not first.size:
                    return "a view of nothing"
                flo, fhi = self._bounds(first)
                if not (flo <= lo and hi <= fhi):
                    return "a view op that copied"
            elif not any(lo <= addr < hi for addr in addrs):
                return f"output {name!r} is not written by the C calls"
        return ""

    # ---- building --------------------------------------------------------------------------------
    def finish(self, env: dict[str, Any]) -> list[Segment]:
        nodes = self.program.nodes
        if self.abandoned:
            why = f"not recorded: more than {RECORD_LIMIT >> 20} MiB of values to check"
            _SPLITS[self.program] = {node.label(): why for node in nodes}
            return []
        last_read = self.last_read
        outputs = {v.name for v in self.program.graph.outputs}
        ok = {i for i, r in self.records.items() if not r.why}
        segments: list[Segment] = []
        i = 0
        while i < len(nodes):
            if i not in ok:
                i += 1
                continue
            j = i
            while j in ok:
                j += 1
            built = self._build(i, j, last_read, outputs)
            if isinstance(built, int):  # step `built` cannot be in a segment: cut there
                self.records[built].why = "cut"
                ok.discard(built)
                continue
            if built is not None:
                failed = self._verify(built)
                if not failed:
                    segments.append(built)
                elif failed == _RELEASED:  # a cut inside a run: not a wrong result
                    log.debug("segment of nodes %s..%s: %s", nodes[i].name, nodes[j - 1].name,
                              failed)  # fmt: skip
                else:
                    log.warning("segment of nodes %s..%s differs from node-by-node; not used",
                                nodes[i].name, nodes[j - 1].name)  # fmt: skip
                if failed:
                    why = "its segment failed the self-check" if failed != _RELEASED else failed
                    for k in range(i, j):
                        self.records[k].why = why
            i = j
        self.snap.clear()
        self.seen.clear()
        reasons = {}
        for i, node in enumerate(nodes):
            rec = self.records.get(i)
            if rec is None:
                reasons[node.label()] = f"not traceable: {node.op_type}"
            elif rec.why:
                reasons[node.label()] = rec.why
        _SPLITS[self.program] = reasons
        return segments

    def _build(
        self, s: int, e: int, last_read: dict[str, int], outputs: set[str]
    ) -> Segment | int | None:
        recs = [(k, self.records[k]) for k in range(s, e)]
        if not any(r.calls for _, r in recs):
            return None
        alo, ahi = self.arena_range
        produced: dict[str, tuple[int, np.ndarray]] = {}  # name -> step, array
        root_of: dict[str, str] = {}
        external: dict[str, tuple[int, np.ndarray]] = {}  # name -> first reading step, array
        for k, rec in recs:
            for name, a in zip(rec.node.inputs, rec.args):
                if name and a is not None and name not in produced and \
                        name not in self.initializers and name not in external:  # fmt: skip
                    external[name] = (k, a)
            for name, a in zip(rec.node.outputs, rec.results):
                if name and a is not None:
                    produced[name] = (k, a)
                    first = rec.node.inputs[0] if rec.alias else name
                    root_of[name] = root_of.get(first, first) if rec.alias else name

        def in_arena(a: np.ndarray) -> bool:
            lo, hi = self._bounds(a) if a.size else (alo, alo)
            return alo <= lo and hi <= ahi

        regions: list[tuple[str, tuple[int, ...], np.dtype, int]] = []
        movable: list[tuple[int, int, int]] = []  # bounds, region
        for name, (k, a) in external.items():
            fixed = in_arena(a)
            if not fixed and not a.flags.c_contiguous:
                return k
            regions.append((name, a.shape, a.dtype, a.ctypes.data if fixed else 0))
            if not fixed and a.size:
                movable.append((*self._bounds(a), len(regions) - 1))
        private: list[tuple[int, int, np.ndarray]] = []  # bounds, private buffer
        private_of: dict[str, np.ndarray] = {}
        kept = {n for k, rec in recs if rec.const for n in rec.node.outputs if n}
        for name, (k, a) in produced.items():
            if root_of[name] != name or in_arena(a) or not a.size or name in kept:
                continue  # (a kept shape constant: its recorded array, held by the segment)
            if not a.flags.c_contiguous:
                return k
            buf = aligned_empty(a.nbytes, np.uint8)
            private.append((*self._bounds(a), buf))
            private_of[name] = buf
        patches: list[tuple[int, int, int, int]] = []
        calls: list[Any] = []
        held: list[Any] = []
        call_node: list[str] = []
        for _, rec in recs:
            held += rec.held
            for call, ptrs in zip(rec.calls, rec.pointers):
                index = len(calls)
                for slot, addr in ptrs:
                    call.set_pointer(slot, addr)
                    moved = next(((lo, r) for lo, hi, r in movable if lo <= addr < hi), None)
                    if moved is not None:
                        patches.append((index, slot, moved[1], addr - moved[0]))
                        continue
                    own = next(((lo, b) for lo, hi, b in private if lo <= addr < hi), None)
                    if own is None:
                        own = next(
                            ((lo, self._scratch_copy(key)) for key, (lo, hi) in
                             self.scratch.items() if lo <= addr < hi), None)  # fmt: skip
                    if own is not None:
                        call.set_pointer(slot, own[1].ctypes.data + addr - own[0])
                calls.append(call)
                call_node.append(rec.node.label())
        exports: dict[str, Any] = {}
        rebuilt: dict[str, tuple[str, tuple[int, ...], np.dtype, int, tuple[int, ...]]] = {}
        copied: list[str] = []
        for name, (_, a) in produced.items():
            if last_read.get(name, -1) < e:
                continue
            root = root_of[name]
            if root in external and regions[_region(regions, root)][3] == 0:
                base = external[root][1]
                rebuilt[name] = (root, a.shape, a.dtype, self._bounds(a)[0] - self._bounds(base)[0],
                                 a.strides)  # fmt: skip
            elif root in private_of:
                rlo = self._bounds(produced[root][1])[0]
                offset = self._bounds(a)[0] - rlo
                exports[name] = np.ndarray(a.shape, a.dtype, buffer=private_of[root],
                                           offset=offset, strides=a.strides)  # fmt: skip
                if name in outputs:
                    copied.append(name)
            else:
                exports[name] = a
        plan = ext().Plan(calls, patches, [(shape, dt, fixed) for _, shape, dt, fixed in regions])
        seg = Segment(s, e, plan, [r[0] for r in regions], exports, rebuilt, copied,
                      self.threads, call_node, held)  # fmt: skip
        seg.private = [b for _, _, b in private] + list(self.scratch_copies.values())
        return seg

    def _scratch_copy(self, key: int) -> np.ndarray:
        copy = self.scratch_copies.get(key)
        if copy is None:
            lo, hi = self.scratch[key]
            copy = self.scratch_copies[key] = aligned_empty(hi - lo, np.uint8)
        return copy

    def _verify(self, seg: Segment) -> str:
        """Runs the segment on the recorded inputs over a patterned arena; its exports must equal
        the node-by-node results. Returns why not ("" when they do)."""
        self.arena_buffer[...] = _PATTERN
        for buf in seg.private:
            buf[...] = _PATTERN
        env: dict[str, Any] = {}
        for name, fixed in zip(seg.region_names, seg.plan.fixed_addresses()):
            snap = self.snap.get(name)
            if snap is None:
                return _RELEASED
            if fixed:
                view = np.ndarray(snap.shape, snap.dtype, buffer=self.arena_buffer,
                                  offset=fixed - self.arena_range[0])  # fmt: skip
                np.copyto(view, snap)
                env[name] = view
            else:
                env[name] = snap.copy()  # C order (ascontiguousarray would make a 0-d one 1-d)
        if not seg.run(env):
            return "it did not run on its recorded inputs"
        for name in list(seg.exports) + list(seg.rebuilt):
            want = self.snap.get(name)
            got = env.get(name)
            if want is None:  # (its copy was released: a cut inside a run)
                return _RELEASED
            if got is None or not _same(want, got):
                log.debug("segment export %s differs", name)
                return f"export {name!r} differs"
        return ""


def _region(regions: list[tuple[str, Any, Any, int]], name: str) -> int:
    return next(i for i, r in enumerate(regions) if r[0] == name)


class Segment:
    """Steps [start, stop) as one Plan (the interpreter's Segment)."""

    def __init__(
        self, start: int, stop: int, plan: Any, region_names: list[str], exports: dict[str, Any],
        rebuilt: dict[str, tuple], copied: list[str], threads: int, call_node: list[str],
        owned: list[Any],
    ) -> None:  # fmt: skip
        self.start, self.stop = start, stop
        self.plan = plan
        self.region_names = region_names
        self.exports = exports
        self.rebuilt = rebuilt
        self.copied = copied
        self.threads = threads
        self.call_node = call_node
        self.owned = owned  # keeps packed weights and epilogue tables alive
        self.private: list[np.ndarray] = []  # its buffers: fresh outputs, scratch copies

    def __len__(self) -> int:
        return self.stop - self.start

    def run(self, env: dict[str, Any]) -> bool:
        if current_threads() != self.threads:
            return False
        failed = self.plan.run([env.get(n) for n in self.region_names])
        if failed == -2:
            return False
        if failed >= 0:
            raise NodeExecutionError(
                f"{self.call_node[failed]}: its kernel failed inside a segment", "", ""
            )
        env.update(self.exports)
        for name, (root, shape, dtype, offset, strides) in self.rebuilt.items():
            env[name] = np.ndarray(shape, dtype, buffer=env[root], offset=offset, strides=strides)
        for name in self.copied:
            env[name] = env[name].copy()
        return True
