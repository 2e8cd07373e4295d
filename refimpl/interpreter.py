"""The reference interpreter: runs a Graph node by node with the registry's functions.

`Program(graph)` resolves every node once (listing all unsupported ops together), checks attributes
against the function signatures, and precomputes when each tensor is last used so that it is
released right after. `Program.run(feeds)` executes; observers see every node before and after it
runs.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import shape_arenas
from .arena import Arena, set_outputs
from .arena import running as arena_state
from .blas_threads import enter_limit, leave_limit
from .cropped_build import missing_ops_error
from .dtypes import name_of
from .errors import (
    GraphValidationError,
    MemoryBudgetError,
    NodeExecutionError,
    OpArgumentError,
    RuntimeDecline,
    RunTimeoutError,
    UnsupportedModelError,
)
from .ir import Graph, Node, Scope
from .memory_budget import SizeGuard
from .memory_plan import MemoryPlan
from .registry import OpFunction, OpRegistry, default_registry, spec_of
from .shape_arenas import ShapeArenas, symbolic_inputs

log = logging.getLogger("gossamer.interpreter")
MAX_CONTEXTS = 4  # segment schedules one Program keeps, one per builder context (thread count)
_PLAN_LOCK = threading.Lock()  # a deferred arena plan is made and bound once (Program.plan_now)


class NodeObserver(Protocol):
    """Called around every node; `inputs`/`outputs` are the runtime values (None = absent)."""

    def before_node(self, node: Node, inputs: Sequence[Any]) -> None: ...
    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None: ...


class Segment(Protocol):
    """Steps [start, stop) of a Program run by a backend in one call (see SegmentBuilder)."""

    start: int
    stop: int

    def run(self, env: dict[str, Any]) -> bool:
        """Runs the steps on env's values and puts the values read after them into env; False
        (having changed nothing) when this run's values do not fit what the segment was built
        for: the steps then run one by one."""
        ...


class SegmentBuilder(Protocol):
    """A backend's recorder of one arena run, turning runs of consecutive steps into Segments.

    A Program whose overrides name one (an override's `impl.segment_builder`, a callable taking
    the Program) records its second arena run through it: `before`/`after` around every step,
    then `finish` returns the segments; later arena runs without observers, timings or keep_all
    call each segment instead of its steps. `close` is called last in every case. The builder
    factory may also name `run_starts()`, called as every run of such a Program begins."""

    def before(self, index: int, node: Node, impl: Callable[..., Any]) -> None: ...
    def after(
        self, index: int, node: Node, args: list[Any], results: list[Any], declined: bool
    ) -> None: ...
    def finish(self, env: dict[str, Any]) -> list[Segment]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Override:
    """Runs a node with something other than its reference function (a backend's kernel, or a
    compiled partition standing for several nodes)."""

    impl: Callable[..., Any]
    backend: str
    partition: bool = False  # True: impl takes the boundary inputs only, no attributes
    covers: tuple[str, ...] = ()  # for a partition: the original nodes it stands for


@dataclass
class _Step:
    node: Node
    fn: OpFunction | None  # the reference function (None for a fused partition)
    impl: Callable[..., Any]  # what runs: fn itself, or a backend's override
    backend: str
    attrs: dict[str, Any]
    bodies: dict[str, Program]
    wants_num_outputs: bool
    release_after: list[str] = field(default_factory=list)
    covers: tuple[str, ...] = ()
    # precomputed for the run loop: the keyword arguments when the node has no bodies (shared by
    # every call: callees receive a fresh dict through **), and the dtypes input 0 may have
    kwargs: dict[str, Any] | None = None
    dtypes: frozenset[str] | None = None

    def finish(self) -> None:
        if not self.bodies:
            self.kwargs = dict(self.attrs)
            if self.wants_num_outputs and "num_outputs" not in self.kwargs:
                self.kwargs["num_outputs"] = len(self.node.outputs)
        self.dtypes = spec_of(self.fn).dtypes if self.fn is not None else None


class Body:
    """A subgraph bound to the values of its enclosing scope; calling it runs the subgraph."""

    def __init__(
        self,
        program: Program,
        outer: dict[str, Any],
        observers: Sequence[NodeObserver],
        deadline: float | None = None,
    ):
        self._program = program
        self._outer = outer
        self._observers = observers
        self._deadline = deadline
        self.input_names = [v.name for v in program.graph.inputs]
        self.output_names = [v.name for v in program.graph.outputs]
        self.output_values = list(program.graph.outputs)  # declared types, for empty-loop outputs

    def __call__(self, *inputs: Any) -> list[Any]:
        if len(inputs) > len(self.input_names):
            raise OpArgumentError(
                f"subgraph {self._program.graph.name!r} takes {len(self.input_names)} inputs, "
                f"got {len(inputs)}"
            )
        feeds = dict(zip(self.input_names, inputs))
        env = self._program.run(
            feeds, outer=self._outer, observers=self._observers, deadline=self._deadline
        )
        return [env[n] for n in self.output_names]


class Program:
    """A graph resolved against a registry, ready to run any number of times."""

    _plan_later: Callable[[], MemoryPlan] | None  # the declared shapes' plan, still to be made

    def __init__(
        self,
        graph: Graph,
        registry: OpRegistry | None = None,
        *,
        outer_scope: Scope | None = None,
        opsets: dict[str, int] | None = None,
        overrides: dict[str, Override] | None = None,
        memory_plan: MemoryPlan | None = None,
        plan_later: Callable[[], MemoryPlan] | None = None,
        order: list[Node] | None = None,
    ) -> None:
        """`memory_plan`: the arena's plan (None: no arena). `plan_later` instead of a plan, for
        a graph with symbolic input dims: what makes the plan of the declared shapes, called on
        the first run that needs that arena (one whose input shapes get no arena of their own:
        refimpl/shape_arenas.py), not at load; `arena_check` (set by the caller) then checks its
        size first. Either one gives the Program arenas per input shape. `order`: the graph's
        nodes in topological order where the caller has it (`graph.validate()` returns it; a
        top-level graph only): not sorted again."""
        self.graph = graph
        self.registry = registry or default_registry()
        self.overrides = overrides or {}
        # node -> (calls, reason): kernels that declined a call at run time (the reference ran)
        self.runtime_fallbacks: dict[str, tuple[int, str]] = {}
        self.opsets = dict(opsets or graph.opsets)
        unsupported: dict[tuple[str, str, int], list[str]] = {}
        self._steps: list[_Step] = []
        if order is None or outer_scope is not None:
            order = graph.topological_nodes(outer_scope)
        scope = Scope(graph.produced_names(), outer_scope)
        # a body reads only its free names from the enclosing scope: copy just those per call
        self._free_names = sorted(graph.free_names()) if outer_scope is not None else []
        self._collect_steps(order, scope, unsupported)
        if unsupported:
            raise _unsupported_error(graph, unsupported)
        self._plan_releases()
        # called as each run begins: a backend's early start (its threads' wake-up) that then
        # overlaps the run's Python work (the segment builder's `run_starts`, if it names one);
        # not for a body (Loop/If/Scan), which runs inside a run that already made that start
        run_starts = getattr(_segment_builder(self.overrides), "run_starts", None)
        self._run_starts = run_starts if outer_scope is None else None
        self.bind_arena(memory_plan)
        # symbolic input dims: an arena (and segments) per input-shape signature, planned at run
        planned = memory_plan is not None or plan_later is not None
        symbolic = symbolic_inputs(graph) if planned and outer_scope is None else []
        self._shapes = ShapeArenas(self, symbolic) if symbolic else None
        # the input-shape signatures run once so far, node by node without an arena: a shape is
        # planned (and recorded) from its second run, so a first run (a load's, or a shape seen
        # once) pays no arena plan; bounded like the plans themselves
        self._sighted: set[tuple] = set()
        # the declared shapes' plan, made when a run first needs it (a graph without symbolic
        # inputs has no per-shape arenas to wait for: planned now)
        self.arena_check: Callable[[int], None] | None = None  # raises for an oversized arena
        if plan_later is not None and memory_plan is None:
            if self._shapes is None:
                self.bind_arena(plan_later())
            else:
                self._plan_later = plan_later

    def bind_arena(self, plan: MemoryPlan | None) -> None:
        """Runs with `plan`'s arena from now on (None: none), with fresh segments; a variant for
        one input-shape signature (refimpl/shape_arenas.py) is a copy of its Program bound so."""
        self.arena = self._make_arena(plan) if plan is not None else None
        # segments: (start, stop, segment or None, names released after it) covering every step
        self.schedule: list[tuple[int, int, Segment | None, tuple[str, ...]]] | None = None
        self._builder_factory = _segment_builder(self.overrides) if self.arena else None
        self._segment_builder = self._builder_factory
        self._arena_runs = 0
        # the builder's context_key() (e.g. the thread count) the schedule was recorded in, and
        # the schedules of other contexts: a run in another context records its own
        self._segment_key: Any = None
        self._schedules: dict[Any, tuple[Any, Any, int]] = {}
        self._unaliased: dict[str, Any] = {}  # output name -> an array found not in the arena
        self._shapes = None
        self._plan_later = None
        self.use_segments = getattr(self, "use_segments", True)  # False: never record any

    @property
    def plan_pending(self) -> bool:
        """Whether the declared shapes' arena plan is still to be made (`plan_later`)."""
        return self._plan_later is not None

    def plan_now(self) -> None:
        """Makes and binds the declared shapes' arena plan if it is still pending, checking its
        size with `arena_check` first (which raises before anything is bound). Thread-safe;
        keeps the per-input-shape arenas."""
        with _PLAN_LOCK:
            make = self._plan_later
            if make is None:
                return
            plan = make()
            if plan.arena_bytes and self.arena_check is not None:
                self.arena_check(plan.arena_bytes)
            shapes = self._shapes
            self.bind_arena(plan)  # (which clears the pending plan)
            self._shapes = shapes

    def set_arena_limit(self, nbytes: int | None) -> None:
        """The most bytes the arenas planned per input shape may take together (a Session passes
        its memory budget; None: the default budget)."""
        if self._shapes is not None:
            self._shapes.limit = nbytes

    @property
    def shape_arenas(self) -> ShapeArenas | None:
        """The per-input-shape arenas of a graph with symbolic input dims (None: static)."""
        return self._shapes

    # ---- compile ---------------------------------------------------------------------------------
    def _collect_steps(self, order: list[Node], scope: Scope, unsupported: dict) -> None:
        for node in order:
            override = self.overrides.get(node.name)
            if override is not None and override.partition:
                step = _Step(node, None, override.impl, override.backend, {}, {}, False)
                step.covers = override.covers
                self._steps.append(step)
                continue
            domain = "" if node.domain == "ai.onnx" else node.domain
            opset = self.opsets.get(domain, self.opsets.get("ai.onnx", 0) if domain == "" else 0)
            fn = self.registry.resolve(domain, node.op_type, opset)
            bodies: dict[str, Program] = {}
            for attr_name, value in node.attrs.items():
                if isinstance(value, Graph):
                    try:
                        bodies[attr_name] = Program(
                            value, self.registry, outer_scope=scope, opsets=self.opsets
                        )
                    except UnsupportedModelError as err:
                        for item in err.unsupported:
                            domain_key = "" if item["domain"] == "ai.onnx" else item["domain"]
                            key = (domain_key, item["op_type"], item["opset"])
                            unsupported.setdefault(key, []).extend(item["nodes"])
            if fn is None:
                unsupported.setdefault((domain, node.op_type, opset), []).append(node.name)
                continue
            attrs = {k: v for k, v in node.attrs.items() if k not in bodies}
            wants = _check_signature(fn, node, attrs, bodies)
            impl, backend = (override.impl, override.backend) if override else (fn, "reference")
            self._steps.append(_Step(node, fn, impl, backend, attrs, bodies, wants))
        for step in self._steps:
            step.finish()

    def _plan_releases(self) -> None:
        keep = {v.name for v in self.graph.outputs}
        last_use: dict[str, int] = {}
        for idx, step in enumerate(self._steps):
            for name in step.node.inputs:
                if name:
                    last_use[name] = idx
            for body in step.bodies.values():
                for name in body.graph.free_names():
                    last_use[name] = idx
            for name in step.node.outputs:  # unused outputs die where they are born
                if name:
                    last_use.setdefault(name, idx)
        for name, idx in last_use.items():
            if name not in keep and name not in self.graph.initializers:
                self._steps[idx].release_after.append(name)

    def _make_arena(self, plan: MemoryPlan) -> Arena | None:
        """The arena for `plan` if it was made for exactly these steps (else None: no arena)."""
        if plan.steps != [s.node.name for s in self._steps] or plan.arena_bytes == 0:
            return None
        outputs = {v.name for v in self.graph.outputs}
        return Arena(plan, [list(s.node.outputs) for s in self._steps], outputs)

    @property
    def nodes(self) -> list[Node]:
        return [s.node for s in self._steps]

    # ---- run -------------------------------------------------------------------------------------
    def run(
        self,
        feeds: dict[str, Any],
        *,
        outer: dict[str, Any] | None = None,
        observers: Sequence[NodeObserver] = (),
        timings: dict[str, float] | None = None,
        keep_all: bool = False,
        guard: SizeGuard | None = None,
        deadline: float | None = None,
        blas_cap: int | None = None,
    ) -> dict[str, Any]:
        """Runs every node; returns the environment holding (at least) the graph outputs.

        `guard` checks the output sizes of its nodes against a memory budget before they run.
        `deadline` (a time.monotonic() value) stops the run with RunTimeoutError before the first
        node, of this graph or of any body it runs (each Loop iteration), that would start later.
        `blas_cap`: numpy's BLAS threads while steps run one by one (blas_threads.enter_limit),
        entered only when one does: a run made of C segments alone calls no BLAS, and setting
        the cap and restoring it costs ~2 us a run."""
        if self._run_starts is not None:
            self._run_starts()
        sighting = False  # the first run at these input shapes: no arena, no plan
        if self._shapes is not None and not observers and not keep_all:
            key = self._shapes.signature(feeds)
            sighting = key is not None and self._sight(key)
            variant = None if sighting else self._shapes.variant(feeds)
            if variant is not None:  # this shape's arena
                if key in self._sighted and not variant._arena_runs and variant.schedule is None:
                    variant._arena_runs = 1  # the sighting run packed the weights: record now
                return variant.run(  # type: ignore[no-any-return]
                    feeds,
                    outer=outer,
                    timings=timings,
                    guard=guard,
                    deadline=deadline,
                    blas_cap=blas_cap,
                )
        env: dict[str, Any] = {n: outer[n] for n in self._free_names if n in outer} if outer else {}
        env.update(self.graph.initializers)
        env.update(feeds)
        if self._plan_later is not None and not observers and not keep_all and not sighting:
            self.plan_now()  # the first run without an arena of its input shapes
        arena = self.arena if not observers and not keep_all and not sighting else None
        if arena is not None and not arena.lock.acquire(blocking=False):
            arena = None  # another thread is running this program in the arena
        previous = set_outputs(None)  # a nested run (a body) never writes into its host's arena
        capped = False
        try:
            if arena is not None:
                arena.bind()
                self._match_context()
                recorder = self._recorder() if timings is None else None
                try:
                    if self.schedule is not None and timings is None:
                        capped = self._run_segmented(env, arena, guard, deadline, blas_cap)
                    else:
                        capped = enter_limit(blas_cap)
                        self._run_steps(
                            env, observers, timings, keep_all, arena, guard, deadline, recorder
                        )
                    self._unalias_outputs(env, arena)
                    if recorder is not None:
                        self._install_segments(recorder, env)
                finally:
                    if recorder is not None:
                        recorder.close()
            else:
                capped = enter_limit(blas_cap)
                self._run_steps(env, observers, timings, keep_all, None, guard, deadline)
        finally:
            leave_limit(capped)
            set_outputs(previous)
            if arena is not None:
                arena.lock.release()
        if outer is None:
            _unalias_feeds(self.graph, env, feeds)
        return env

    def _sight(self, key: tuple) -> bool:
        """Whether `key` is a signature not run before (now remembered; at most MAX_PLANS of
        them, then every new one is planned at once as before)."""
        sighted = self._sighted
        if key in sighted or len(sighted) >= shape_arenas.MAX_PLANS:
            return False
        with _PLAN_LOCK:
            if key in sighted:
                return False
            sighted.add(key)
        return True

    def _unalias_outputs(self, env: dict[str, Any], arena: Arena) -> None:
        """The caller keeps the graph outputs: never arena bytes. An array that owns its memory
        (base None: a fresh copy) cannot be in the arena; one found not to alias it is remembered
        (held, so its id stays its own): a segment hands back the same arrays every run."""
        seen = self._unaliased
        for value in self.graph.outputs:
            name = value.name
            got = env.get(name)
            if got is None or seen.get(name) is got:
                continue
            if isinstance(got, np.ndarray) and got.base is None and got is not arena.buffer:
                continue
            if arena.aliases(got):
                env[name] = got.copy()
            elif self.schedule is not None:
                seen[name] = got

    def _match_context(self) -> None:
        """Switches to the schedule recorded in the builder's current context (its
        `context_key()`), or to none yet (recorded anew); at most MAX_CONTEXTS are kept. Called
        holding the arena lock."""
        key_of = getattr(self._builder_factory, "context_key", None)
        if key_of is None:
            return
        key = key_of()
        if key == self._segment_key:
            return
        if self._segment_key is None:  # the first context: what was set up is its state
            self._segment_key = key
            return
        if len(self._schedules) >= MAX_CONTEXTS:
            self._schedules.pop(next(iter(self._schedules)))
        saved = (self.schedule, self._segment_builder, self._arena_runs)
        self._schedules[self._segment_key] = saved
        fresh = (None, self._builder_factory, 0)
        self.schedule, self._segment_builder, self._arena_runs = self._schedules.pop(key, fresh)
        self._segment_key = key

    def _recorder(self) -> SegmentBuilder | None:
        """The builder that records this arena run (the second: the first packs weights), if
        segments are wanted and not built yet."""
        if self._segment_builder is None or self.schedule is not None or not self.use_segments:
            return None
        self._arena_runs += 1
        return self._segment_builder(self) if self._arena_runs >= 2 else None

    def _install_segments(self, recorder: SegmentBuilder, env: dict[str, Any]) -> None:
        try:
            segments = sorted(recorder.finish(env), key=lambda s: s.start)
        except Exception as err:  # a builder's failure costs the speed-up, never the run
            log.warning("segment builder failed (%s: %s); steps run one by one",
                        type(err).__name__, err)  # fmt: skip
            segments = []
        self._segment_builder = None  # one recording per program
        if not segments:
            return
        schedule: list[tuple[int, int, Segment | None, tuple[str, ...]]] = []
        at = 0
        for seg in segments:
            if seg.start < at or seg.stop <= seg.start or seg.stop > len(self._steps):
                raise ValueError(f"segment [{seg.start}, {seg.stop}) overlaps or is out of range")
            if seg.start > at:
                schedule.append((at, seg.start, None, ()))
            inside = self._steps[seg.start : seg.stop]
            made = {n for s in inside for n in s.node.outputs}  # never in env: the segment's own
            released = tuple(n for s in inside for n in s.release_after if n not in made)
            schedule.append((seg.start, seg.stop, seg, released))
            at = seg.stop
        if at < len(self._steps):
            schedule.append((at, len(self._steps), None, ()))
        self.schedule = schedule

    def _run_segmented(
        self,
        env: dict[str, Any],
        arena: Arena,
        guard: SizeGuard | None,
        deadline: float | None,
        blas_cap: int | None,
    ) -> bool:
        """An arena run through the schedule: each segment in one call (its guarded sizes were
        checked when it was recorded, and it runs only on the shapes it was recorded with).
        Returns whether it entered the BLAS cap (before the first steps that run one by one),
        for the caller to leave; left here if a step raises."""
        capped = False
        try:
            for start, stop, segment, released in self.schedule or ():
                if segment is not None:
                    if deadline is not None and time.monotonic() > deadline:
                        node = self._steps[start].node
                        raise RunTimeoutError(
                            f"the run passed its timeout before node {node.label()} of graph "
                            f"{self.graph.name!r}",
                            node.name,
                            node.op_type,
                        )
                    if segment.run(env):
                        for name in released:
                            env.pop(name, None)
                        continue
                if not capped:
                    capped = enter_limit(blas_cap)
                self._run_steps(env, (), None, False, arena, guard, deadline, None, start, stop)
        except BaseException:
            leave_limit(capped)
            raise
        return capped

    def _run_steps(
        self,
        env: dict[str, Any],
        observers: Sequence[NodeObserver],
        timings: dict[str, float] | None,
        keep_all: bool,
        arena: Arena | None,
        guard: SizeGuard | None,
        deadline: float | None,
        recorder: SegmentBuilder | None = None,
        start: int = 0,
        stop: int | None = None,
    ) -> None:
        views = arena.step_views if arena is not None else None
        guarded = guard.nodes if guard is not None else frozenset()
        steps = self._steps
        with np.errstate(all="ignore"):
            for index in range(start, len(steps) if stop is None else stop):
                step = steps[index]
                node = step.node
                args = [env[name] if name else None for name in node.inputs]
                kwargs = step.kwargs
                if kwargs is None:
                    kwargs = dict(step.attrs)
                    for attr_name, program in step.bodies.items():
                        kwargs[attr_name] = Body(program, env, observers, deadline)
                    if step.wants_num_outputs and "num_outputs" not in kwargs:
                        kwargs["num_outputs"] = len(node.outputs)
                if deadline is not None and time.monotonic() > deadline:
                    raise RunTimeoutError(
                        f"the run passed its timeout before node {node.label()} of graph "
                        f"{self.graph.name!r}",
                        node.name,
                        node.op_type,
                    )
                if node.name in guarded:
                    guard.check(node, args)  # type: ignore[union-attr]
                for obs in observers:
                    obs.before_node(node, args)
                if recorder is not None:
                    recorder.before(index, node, step.impl)
                    fell = self.runtime_fallbacks.get(node.name)
                began = time.perf_counter() if timings is not None else 0.0
                if views is None:
                    results = _call(step, args, kwargs, self.runtime_fallbacks)
                else:  # (on an exception, run() resets the planned outputs)
                    planned = views[index]
                    arena_state.outs = planned
                    results = _call(step, args, kwargs, self.runtime_fallbacks)
                    arena_state.outs = None
                    if planned is None or len(results) != 1 or results[0] is not planned[0]:
                        arena.keep_out(index, results)  # type: ignore[union-attr]
                if timings is not None:
                    timings[node.name] = timings.get(node.name, 0.0) + time.perf_counter() - began
                if recorder is not None:
                    declined = self.runtime_fallbacks.get(node.name) is not fell
                    recorder.after(index, node, args, results, declined)
                for name, value in zip(node.outputs, results):
                    if name:
                        env[name] = value
                for obs in observers:
                    obs.after_node(node, args, results)
                if not keep_all:
                    for name in step.release_after:
                        env.pop(name, None)


def _unalias_feeds(graph: Graph, env: dict[str, Any], feeds: dict[str, Any]) -> None:
    """The caller's graph outputs never share memory with the arrays it fed (a Split, Slice or
    Reshape of an input returns a view of it): such an output is copied, as onnxruntime hands back
    its own arrays."""
    fed = [a for a in feeds.values() if isinstance(a, np.ndarray) and a.size]
    if not fed:
        return
    for value in graph.outputs:
        got = env.get(value.name)
        if not isinstance(got, np.ndarray) or not got.size:
            continue
        # an array owning its memory (base None) shares none, unless it is a feed itself
        if got.base is None and not any(got is a for a in fed):
            continue
        if any(np.may_share_memory(got, a) for a in fed):
            env[value.name] = got.copy()


def _segment_builder(overrides: dict[str, Override]) -> Callable[..., SegmentBuilder] | None:
    """The segment builder a backend names on its overrides' impls (the first found), if any."""
    for override in overrides.values():
        builder = getattr(override.impl, "segment_builder", None)
        if builder is not None:
            return builder  # type: ignore[no-any-return]
    return None


def _call(
    step: _Step,
    args: list[Any],
    kwargs: dict[str, Any],
    fallbacks: dict[str, tuple[int, str]],
) -> list[Any]:
    node = step.node
    allowed = step.dtypes
    if allowed is not None and args and isinstance(args[0], np.ndarray):
        got = _dtype_name(args[0].dtype)
        if got not in allowed:
            raise NodeExecutionError(
                f"{node.label()}: {node.op_type} does not accept input 0 of dtype {got}; "
                f"it accepts {', '.join(sorted(allowed))}",
                node.name,
                node.op_type,
            )
    backend = step.backend  # who is answerable if this call fails
    try:
        try:
            out = step.impl(*args, **kwargs)
        except RuntimeDecline as declined:
            if step.fn is None or step.impl is step.fn:
                raise NodeExecutionError(
                    f"{node.label()}: {step.backend} raised RuntimeDecline where the host has no "
                    f"reference to run instead ({declined})",
                    node.name,
                    node.op_type,
                ) from declined
            count, _ = fallbacks.get(node.name, (0, ""))
            fallbacks[node.name] = (count + 1, f"{step.backend}: {declined}")
            backend = "reference"
            out = step.fn(*args, **kwargs)
    except (NodeExecutionError, MemoryBudgetError):  # already name the node (or the budget)
        raise
    except MemoryError as err:  # the machine, not the budget, said no: the node's size is at fault
        raise MemoryBudgetError(
            f"{_failure(node, args, err)}: the machine cannot allocate what this node needs. "
            "Use smaller inputs, or set max_memory= / GOSSAMER_MAX_MEMORY so that such runs are "
            "refused before they start."
        ) from err
    except BaseException as err:  # an op or kernel bug, a numpy error, a kernel's SystemExit: name
        if isinstance(err, KeyboardInterrupt):  # the node, keep the cause; only Ctrl-C passes
            raise
        message = _failure(node, args, err)
        if step.covers:
            message += f" (the partition runs nodes {', '.join(step.covers[:8])}"
            message += ", …)" if len(step.covers) > 8 else ")"
        # an OpArgumentError is the spec's verdict on the node (kernels share the reference's
        # argument checks): the model is at fault there, not the backend
        if backend != "reference" and not isinstance(err, OpArgumentError):
            message = (
                f"backend {backend!r} failed: {message}. Run without it with "
                f"GOSSAMER_BLOCK={backend} or load(..., backends=[...]) leaving it out."
            )
        raise NodeExecutionError(message, node.name, node.op_type) from err
    if type(out) is np.ndarray and len(node.outputs) == 1:  # the common case, checked cheaply
        return [out]
    results = list(out) if isinstance(out, tuple) else [out]
    n_named = len(node.outputs)
    if len(results) < sum(1 for o in node.outputs if o):
        raise NodeExecutionError(
            f"{node.label()}: {step.backend} returned {len(results)} outputs, the node names "
            f"{n_named}",
            node.name,
            node.op_type,
        )
    return [_as_array(r) for r in results[:n_named]]


def _as_array(value: Any) -> Any:
    if isinstance(value, np.ndarray) or value is None or isinstance(value, list):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    return value


_DTYPE_NAME_CACHE: dict[np.dtype, str] = {}


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAME_CACHE.get(dtype)
    if name is None:
        name = _DTYPE_NAME_CACHE[dtype] = name_of(dtype)
    return name


def describe_value(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, np.ndarray):
        return f"{_dtype_name(value.dtype)}{list(value.shape)}"
    if isinstance(value, list):
        return (
            "sequence["
            + ", ".join(describe_value(v) for v in value[:3])
            + (", …" if len(value) > 3 else "")
            + "]"
        )
    return type(value).__name__


def _failure(node: Node, args: list[Any], err: BaseException) -> str:
    ins = ", ".join(f"{n or '<none>'}: {describe_value(a)}" for n, a in zip(node.inputs, args))
    return f"{node.label()} failed on inputs ({ins}): {type(err).__name__}: {err}"


def _check_signature(
    fn: OpFunction, node: Node, attrs: dict[str, Any], bodies: dict[str, Program]
) -> bool:
    """Checks the node's inputs and attributes against the function; True: fill num_outputs."""
    positional, variadic, keywords, accepts_any, required = _parameters(fn)
    if not variadic and len(node.inputs) > len(positional):
        raise GraphValidationError(
            f"{node.label()}: has {len(node.inputs)} inputs, {spec_of(fn).op_type} takes at most "
            f"{len(positional)} ({', '.join(positional)})"
        )
    unknown = [a for a in list(attrs) + list(bodies) if a not in keywords]
    if unknown and not accepts_any:
        raise GraphValidationError(
            f"{node.label()}: attribute(s) {unknown} are not part of {spec_of(fn).op_type} "
            f"(opset function {fn.__name__}); known: {sorted(keywords) or 'none'}"
        )
    missing = [r for r in required if r not in attrs and r not in bodies]
    if missing:
        raise GraphValidationError(f"{node.label()}: required attribute(s) {missing} are missing")
    return "num_outputs" in keywords


# fn -> (positional names, *args?, keyword-only names, **kwargs?, required keyword-only names
# but num_outputs)
_Parameters = tuple[tuple[str, ...], bool, frozenset[str], bool, tuple[str, ...]]
_PARAMETERS: dict[Callable, _Parameters] = {}
_VARARGS, _VARKEYWORDS = inspect.CO_VARARGS, inspect.CO_VARKEYWORDS


def _parameters(fn: OpFunction) -> _Parameters:
    """What _check_signature needs of fn's parameters: read from its code object for a plain
    function (inspect.signature costs ~40 us per op function, in every process's first load),
    else from inspect.signature (a wrapper, a builtin, a partial, a set __signature__)."""
    found = _PARAMETERS.get(fn)
    if found is not None:
        return found
    code = getattr(fn, "__code__", None)
    plain = type(fn).__name__ == "function" and not hasattr(fn, "__wrapped__")
    if code is not None and plain and not hasattr(fn, "__signature__"):
        names = code.co_varnames
        n_pos, n_kw = code.co_argcount, code.co_kwonlyargcount
        keyword_only = names[n_pos : n_pos + n_kw]
        defaults = fn.__kwdefaults__ or {}
        found = (
            names[:n_pos],
            bool(code.co_flags & _VARARGS),
            frozenset(keyword_only),
            bool(code.co_flags & _VARKEYWORDS),
            tuple(k for k in keyword_only if k not in defaults and k != "num_outputs"),
        )
    else:
        found = _parameters_by_signature(fn)
    _PARAMETERS[fn] = found
    return found


def _parameters_by_signature(fn: Callable) -> _Parameters:
    """_parameters from inspect.signature (the fallback, and what the fast path must agree with)."""
    params = list(inspect.signature(fn).parameters.values())
    return (
        tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)),
        any(p.kind == p.VAR_POSITIONAL for p in params),
        frozenset(p.name for p in params if p.kind == p.KEYWORD_ONLY),
        any(p.kind == p.VAR_KEYWORD for p in params),
        tuple(
            p.name
            for p in params
            if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name != "num_outputs"
        ),
    )


def _unsupported_error(
    graph: Graph, unsupported: dict[tuple[str, str, int], list[str]]
) -> UnsupportedModelError:
    items: list[dict[str, Any]] = [
        {"domain": d or "ai.onnx", "op_type": op, "opset": v, "nodes": names, "count": len(names)}
        for (d, op, v), names in sorted(unsupported.items())
    ]
    cropped = missing_ops_error(graph.name, items)  # a cropped build names what it left out
    if cropped is not None:
        return cropped
    lines = [
        f"  {it['domain']}::{it['op_type']} (opset {it['opset']}): {it['count']} node(s), e.g. "
        + ", ".join(repr(n) for n in it["nodes"][:3])
        for it in items
    ]
    return UnsupportedModelError(
        f"model {graph.name!r} uses {len(items)} op(s) Gossamer does not implement:\n"
        + "\n".join(lines)
        + "\nImplement them with @reference_op (see refimpl/ops) or register them from a plugin.",
        items,
    )
