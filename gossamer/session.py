"""`load()` and `Session`: the public way to run a model.

`Session.run(output_names, feeds)` has the call shape of onnxruntime's InferenceSession.run, so
users can swap engines. Feeds are checked against the model (names, dtypes, ranks, fixed and
symbolic dims) before anything runs. A stateful model (Graph.state, e.g. a TFLite model's resource
variables) keeps its state between runs of one Session: `state`, `set_state`, `reset_state`.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .plugins.reference_backend import REFERENCE
from .plugins.run_context import enter_run, leave_run, using_memory_budget, using_threads
from .precision import BF16_BACKEND, PrecisionChoice, resolve_precision
from .refimpl import model_format
from .refimpl.blas_threads import blas_thread_limit, loaded_blas
from .refimpl.cropped_build import for_model, has_optimizer, missing_feature_error
from .refimpl.dtypes import name_of, to_numpy
from .refimpl.errors import CroppedBuildError, GraphValidationError, InputError, ModelFormatError
from .refimpl.interpreter import NodeObserver
from .refimpl.ir import Graph, Value
from .refimpl.memory_budget import (
    RunSizes,
    parse_budget,
    unnamed_dims,
    with_unknown_dims_named,
)
from .refimpl.model_format.layouts import MISSING
from .refimpl.shape_inference import infer_shapes, inference_cache

if TYPE_CHECKING:
    from .plugins.placement_report import PlacementReport

ModelSource = str | os.PathLike | bytes | Graph

# the optimisation level load() and the CLI use unless told otherwise (see load)
DEFAULT_OPTIMIZE = 3


def read_model(source: ModelSource) -> Graph:
    """Reads an ONNX model (path, bytes or onnx.ModelProto), a .gsm file (path or bytes), a
    TFLite flatbuffer (path or bytes) or passes a Graph through. The format is told by content,
    never by file name; a load error names the format it detected."""
    if isinstance(source, Graph):
        return source
    onnx = sys.modules.get("onnx")  # a ModelProto can exist only once onnx is imported
    if onnx is not None and isinstance(source, onnx.ModelProto):
        return _onnx_graph(source)  # imported as it is, never serialised to bytes
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        head = data[:_HEAD]
    else:
        path = os.fspath(source)  # (not a pathlib.Path: ~50 us at its first use in a process)
        try:
            with open(path, "rb") as f:
                head = f.read(_HEAD)
        except FileNotFoundError:
            raise FileNotFoundError(f"model file {path!r} does not exist") from None
        data = path  # type: ignore[assignment]
    if head[: len(model_format.MAGIC)] == model_format.MAGIC:
        return _named(".gsm", model_format.load_gsm, data)
    if head[4:8] == b"TFL3":  # the TFLite flatbuffer identifier
        graph_from_tflite = _feature(
            "converter.tflite.import_graph", "graph_from_tflite", "the TFLite importer", source
        )
        return _named("TFLite", graph_from_tflite, data)
    return _named("ONNX", _onnx_graph, data)


_HEAD = max(len(model_format.MAGIC), 8)


def _onnx_graph(source: Any) -> Graph:
    graph_from_onnx = _feature(
        "converter.onnx_import", "graph_from_onnx", "the ONNX importer", source
    )
    return graph_from_onnx(source)


def _feature(module: str, name: str, what: str, source: Any) -> Any:
    """gossamer.<module>.<name>; a cropped build (`gossamer crop`) that left the module out
    raises CroppedBuildError naming `what` and the command that re-crops with this model."""
    try:
        found = importlib.import_module(f"{__package__}.{module}")
    except ModuleNotFoundError as err:
        ours = (err.name or "").startswith(f"{__package__}.")
        model = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        cropped = missing_feature_error(what, model) if ours else None
        if cropped is None:
            raise
        raise cropped from None
    return getattr(found, name)


def _named(fmt: str, loader: Any, data: Any) -> Graph:
    """Runs a format's loader; a ModelFormatError that does not say which format was detected
    gets it prefixed, so the user knows how the file was read."""
    try:
        return loader(data)
    except ModelFormatError as err:
        if fmt.lower() in str(err).lower():
            raise
        raise ModelFormatError(f"{fmt} model: {err}") from err


def load(
    source: ModelSource,
    *,
    backends: Sequence[str] | None = None,
    threads: int | None = None,
    optimize: int = DEFAULT_OPTIMIZE,
    max_memory: int | str | None = None,
    precision: str = "fp32",
    backend_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Session:
    """Loads a model (.onnx, .gsm or .tflite as a path or bytes, an onnx.ModelProto, or a Graph)
    into a Session.

    `backends` restricts the backends used (default: GOSSAMER_BACKENDS, else every available one);
    nodes no chosen backend takes run on the reference. `threads` caps the threads kernels use
    (default: the cores this process may run on). `optimize` runs the graph optimiser at that
    level (default DEFAULT_OPTIMIZE = 3, every fusion, as onnxruntime enables all its
    optimisations by default; 0: the graph as written, best for debugging). `max_memory` (bytes,
    or a size such as "4G"; default GOSSAMER_MAX_MEMORY, else 3/4 of this machine's memory) is
    the most any one tensor, the arena or a kernel's work buffer may take: a model or a run that
    would exceed it is refused with MemoryBudgetError before anything that large is allocated.
    `precision` ("fp32", the default, or "bf16", like OpenVINO's inference precision hint): "bf16"
    runs convolutions and matrix products in bfloat16 with float32 accumulation (the
    `cython-bf16` backend) where the CPU has AVX512_BF16; elsewhere the model runs in fp32, with
    one warning and the reason in `Session.precision_note` (gossamer/precision.py).
    `backend_options` ({backend: {option: value}}, as onnxruntime's provider options): options
    for backends of this session, e.g. `{"opencl": {"device": "0:0", "precision": "fp16"}}`;
    each backend declares the options it takes (`Backend.options`). An unknown
    backend or option, a backend not in the session, or a bad value raises BackendOptionError
    (an InputError) naming what is accepted. They apply to this session only.
    """
    if not isinstance(optimize, int) or not 0 <= optimize <= 3:
        raise InputError(f"optimize must be a level 0..3, got {optimize!r}")
    choice = resolve_precision(backends, precision)
    backends = choice.backends
    graph = prepared_for_running(read_model(source), optimize, backends)
    try:
        session = Session(
            graph, backends=backends, threads=threads, max_memory=max_memory, precision=choice,
            backend_options=backend_options,
        )  # fmt: skip
    except CroppedBuildError as err:  # its re-crop command names this file
        if not isinstance(source, (str, os.PathLike)):
            raise
        raise for_model(err, os.fspath(source)) from None
    return session


def prepared_for_running(
    graph: Graph, optimize: int, backends: Sequence[str] | None = None
) -> Graph:
    """The graph a session runs for `graph` at optimisation level `optimize` (0: `graph` itself)
    with `backends` (None: the default selection): float16 / N-bit stored weights expanded to
    float32 in memory, the optimiser's passes, and at -O3 the rewrites that depend on the chosen
    backends (the cython backend's blocked layout and attention kernel). Every way of running a
    model (gossamer.load, InferenceSession, `gossamer benchmark`, compare) goes through it, so
    they all run the same graph. Never for a graph that is saved: it is machine-specific."""
    if not optimize or not has_optimizer():  # a crop for pre-optimised .gsm files has no optimiser
        return graph
    from .converter.optimizer.record import optimized_level

    if optimize >= 3:  # the layout `convert --pack` planned and stored, if planned for
        from .stored_layouts import stored_layout  # exactly these backends on this machine

        stored = stored_layout(graph, backends)  # (stored only where nothing expands below)
        if stored is not MISSING:
            return graph if stored is None else stored  # type: ignore[return-value]
    # float16 / N-bit stored weights become float32 once, in memory (never in a file), so
    # the optimiser's folds and the kernels see plain weights and no run converts them
    expanded = graph
    if any(node.op_type in WEIGHT_REBUILDERS for node in graph.nodes):
        from .converter.optimizer.weight_expansion import expand_stored_weights

        expanded = expand_stored_weights(graph)
    # a graph this optimiser already optimised at >= the level (gossamer convert/optimize)
    # is not optimised again, unless expanding weights gave the passes something new (a file
    # saved optimised for its expanded weights says so: weight_compaction.py)
    if optimized_level(graph, expanded=expanded is not graph) < optimize:
        from .converter.optimizer import optimize as optimize_graph

        graph, _ = optimize_graph(expanded, optimize)
    else:
        graph = expanded
    if optimize >= 3:  # the CPU kernels' blocked layout, where they run the graph
        from .layout_planning import plan_for_backends

        graph = plan_for_backends(graph, backends)
    return graph


# ops that cost no FLOPs (a subset of refimpl/model_stats._FREE): the reference running only such
# nodes never does most of the work, so the placement warning's report (model_stats' estimates,
# ~2 ms of a process's first load with its imports) is not made for them
_COSTS_NOTHING = frozenset({"Shape", "Size", "Identity", "Reshape", "Flatten", "Squeeze",
                            "Unsqueeze", "Constant"})  # fmt: skip


def _reference_computes(graph: Graph, backend_of: Mapping[str, str]) -> bool:
    """Whether some top-level node the reference runs may compute (the placement warning's
    question: does the reference do most of the work?)."""
    if REFERENCE not in backend_of.values():
        return False
    return any(
        node.op_type not in _COSTS_NOTHING
        for node in graph.nodes
        if backend_of.get(node.name, REFERENCE) == REFERENCE
    )


# the ops every fold of weight_expansion starts from (a Cast or DequantizeLinear of a stored
# weight): a graph without one is not expanded (nor the module imported, at each process's first
# load)
WEIGHT_REBUILDERS = frozenset({"Cast", "DequantizeLinear"})


class Session:
    """A loaded model, ready to run."""

    def __init__(
        self,
        graph: Graph,
        *,
        backends: Sequence[str] | None = None,
        threads: int | None = None,
        max_memory: int | str | None = None,
        precision: str | PrecisionChoice = "fp32",
        backend_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """`precision` and `backend_options` as for load(); load() passes the precision choice
        it already resolved (one warning, and the backends its layout planning used)."""
        from .plugins.executor import build_program

        if not isinstance(graph, Graph):
            given = (
                repr(os.fspath(graph))
                if isinstance(graph, (str, os.PathLike))
                else f"a {type(graph).__name__}"
            )
            raise InputError(
                f"Session takes a loaded Graph, got {given}: open a model (path, bytes or "
                "onnx.ModelProto) with gossamer.load(...) or gossamer.InferenceSession(...)"
            )
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        choice = (
            precision
            if isinstance(precision, PrecisionChoice)
            else resolve_precision(backends, precision)
        )
        backends = choice.backends
        # "fp32" or "bf16": what the products are computed in; precision_note: why bf16 was
        # asked for and not given (None otherwise)
        self.precision, self.precision_note = choice.precision, choice.note
        self.threads = threads
        self.max_memory = parse_budget(max_memory)
        declared = graph  # its inputs as the model declares them: what the user feeds
        graph, unknown = with_unknown_dims_named(graph)  # a symbol each: runs evaluate sizes
        order = graph.validate()  # (the nodes sorted: inference and the program sort no more)
        self.graph = graph
        with inference_cache(), using_memory_budget(self.max_memory):
            # planning, kernels and the memory plan ask for the same shapes
            inferred = infer_shapes(graph, order)
            self._sized = RunSizes(graph, inferred, self.max_memory)  # refuses oversized tensors
            self._program, self.placement = build_program(
                graph, list(backends) if backends is not None else None, backend_options, order
            )
            if self._program.graph is graph:  # its steps: the order the runs' checks infer in
                self._sized.order = self._program.nodes
                arenas = self._program.shape_arenas  # each input shape's arena plan sizes its
                if arenas is not None:  # tensors by evaluating the declared shapes, as the checks
                    arenas.sized_values = self._sized.values_at
            if self.precision_note:  # gossamer explain: "backend cython-bf16 took no part: ..."
                self.placement.excluded[BF16_BACKEND] = self.precision_note
            if _reference_computes(graph, self.placement.backend_of):  # else nothing to warn
                from .plugins.placement_report import warn_if_mostly_reference

                warn_if_mostly_reference(graph, self.placement, inferred)  # once, at load
            program = self._program
            if program.plan_pending:  # symbolic inputs: the declared shapes' arena is planned
                program.arena_check = self._sized.check_arena  # by the first run needing it,
                bound = 2 * self._sized.declared_bytes  # >= memory_plan.arena_bound
                if program.graph is not graph or bound > self.max_memory:
                    program.plan_now()  # unless it might exceed the budget: then here, checked
        if self._program.arena is not None:
            self._sized.check_arena(self._program.arena.nbytes)
        self._program.set_arena_limit(self.max_memory)  # arenas planned per input shape
        initialized = set(graph.initializers)
        state_in, state_out = graph.state_names()  # the model's own, never the user's
        user_inputs = [v for v in declared.inputs if v.name not in state_in]
        self._feedable = {v.name: v for v in user_inputs}
        self._required = [v.name for v in user_inputs if v.name not in initialized]
        self.inputs: list[Value] = [v for v in user_inputs if v.name not in initialized]
        self.outputs: list[Value] = [
            unnamed_dims(inferred.get(v.name, v), unknown)
            for v in graph.outputs
            if v.name not in state_out
        ]
        self._state_specs = {v.name: v for v in declared.inputs if v.name in state_in}
        self._state: dict[str, np.ndarray | None] = {}
        self._state_lock = threading.Lock()  # a stateful run reads and writes state as one step
        self._output_names = [v.name for v in self.outputs]
        self._known_outputs = frozenset(self._output_names)
        # feed signatures ((name, dtype, shape) per feed) that passed _check_feeds: a run whose
        # feeds match one skips the checks (a plain dict read per run)
        self._valid_feeds: dict[tuple, bool] = {}
        self.reset_state()

    def placement_report(self) -> PlacementReport:
        """Where the nodes run: per node the backend, estimated FLOPs and why the others declined;
        shares per backend (what `gossamer explain` prints first)."""
        from .plugins.placement_report import placement_report

        return placement_report(self.graph, self.placement)

    @property
    def runtime_fallbacks(self) -> dict[str, tuple[int, str]]:
        """node -> (calls, reason) for calls a backend kernel declined at run time (the reference
        ran them instead), e.g. shapes outside what the kernel handles."""
        return dict(self._program.runtime_fallbacks)

    @property
    def fused_partitions(self) -> dict[str, tuple[str, ...]]:
        """fused partition node -> the nodes it stands for ("name (OpType)"), for the partitions
        a backend compiled as a whole."""
        return {
            name: override.covers
            for name, override in self._program.overrides.items()
            if override.partition
        }

    @property
    def partition_estimates(self) -> dict[str, Any]:
        """fused partition node -> its backend's estimate for it on the backend's target (the
        compiled partition's `estimate` attribute, e.g. the NPU cycles an NPU compiler predicts;
        `gossamer benchmark` prints it beside the measured time); partitions without one are
        left out."""
        found = {
            name: getattr(override.impl, "estimate", None)
            for name, override in self._program.overrides.items()
            if override.partition
        }
        return {name: e for name, e in found.items() if e is not None}

    def get_inputs(self) -> list[Value]:
        return list(self.inputs)

    # ---- state kept between runs (Graph.state) ---------------------------------------------------
    def reset_state(self) -> None:
        """Every state back to its initial value: the session then runs as a fresh one would
        (a freshly created LiteRT interpreter, for an imported TFLite model's variables)."""
        with self._state_lock:
            self._state = {b.name: b.initial for b in self.graph.state}

    @property
    def state(self) -> dict[str, np.ndarray | None]:
        """The values the model keeps between runs, by state name (copies; None: no value yet).
        Empty for a stateless model."""
        return {k: None if v is None else np.array(v) for k, v in self._state.items()}

    def set_state(self, values: Mapping[str, Any]) -> None:
        """Replaces the named states' values (checked like feeds: dtype, rank, fixed dims); the
        next run starts from them."""
        if not isinstance(values, Mapping):
            raise InputError(f"set_state takes a dict of state name to array, got {values!r}")
        bindings = {b.name: b for b in self.graph.state}
        unknown = [n for n in values if n not in bindings]
        if unknown:
            raise InputError(
                f"model {self.graph.name!r} has no state(s) {unknown}; its states are "
                f"{sorted(bindings) or 'none'}"
            )
        checked = {}
        for name, value in values.items():
            spec = self._state_specs.get(bindings[name].input or "", Value(name))
            checked[name] = np.array(_check_one(Value(name, spec.dtype, spec.shape), value, {}))
        with self._state_lock:
            self._state.update(checked)

    def get_outputs(self) -> list[Value]:
        return list(self.outputs)

    def run(
        self,
        output_names: Sequence[str] | None,
        feeds: dict[str, Any],
        *,
        observers: Sequence[NodeObserver] = (),
        timings: dict[str, float] | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        """Runs the model; returns the requested outputs in order (None: all outputs).

        `timeout` (seconds) stops a run that takes longer, with RunTimeoutError, before the next
        node (or Loop iteration) starts: what a server needs against models that loop for ever.
        """
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        deadline = time.monotonic() + timeout if timeout is not None else None
        names = self._output_names if output_names is None else list(output_names)
        known = self._known_outputs
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(
                f"requested output(s) {unknown} are not outputs of model {self.graph.name!r}; "
                f"outputs are {sorted(known)}"
            )
        checked = self._check_feeds(feeds)
        if not self.graph.state:
            env = self._execute(checked, observers, timings, deadline)
            return [env[n] for n in names]
        with self._state_lock:  # one run at a time sees and replaces the state
            env = self._execute({**checked, **self._state_feeds()}, observers, timings, deadline)
            # written back only now that the run succeeded; copied, since an output may be a
            # view of a feed the caller can still change
            for b in self.graph.state:
                if b.output is not None:
                    self._state[b.name] = np.array(env[b.output])
        return [env[n] for n in names]

    def _execute(
        self,
        feeds: dict[str, Any],
        observers: Sequence[NodeObserver],
        timings: dict[str, float] | None,
        deadline: float | None,
    ) -> dict[str, Any]:
        if self._sized.is_new(feeds):  # a run with new input shapes: its size checks and its
            with inference_cache():  # arena plan infer the same shapes, once
                return self._run(feeds, observers, timings, deadline)
        return self._run(feeds, observers, timings, deadline)

    def _run(
        self,
        feeds: dict[str, Any],
        observers: Sequence[NodeObserver],
        timings: dict[str, float] | None,
        deadline: float | None,
    ) -> dict[str, Any]:
        guard = self._sized.guard_for(feeds)
        if self._blas_cap is None or loaded_blas():  # the cheap path: no context managers
            tokens = enter_run(self.threads, self.max_memory)
            try:  # the program caps BLAS only when steps run one by one (not C segments)
                return self._program.run(
                    feeds,
                    observers=observers,
                    timings=timings,
                    guard=guard,
                    deadline=deadline,
                    blas_cap=self._blas_cap,
                )
            finally:
                leave_run(tokens)
        with (  # no BLAS found by blas_threads: threadpoolctl (when installed) caps it
            using_threads(self.threads),
            using_memory_budget(self.max_memory),
            blas_thread_limit(self._blas_threads),
        ):
            return self._program.run(
                feeds, observers=observers, timings=timings, guard=guard, deadline=deadline
            )

    def _state_feeds(self) -> dict[str, Any]:
        feeds = {}
        for b in self.graph.state:
            if b.input is None:
                continue
            value = self._state[b.name]
            if value is None:
                raise InputError(
                    f"model {self.graph.name!r} reads state {b.name!r} before anything gave it "
                    "a value (set it with Session.set_state, or the model is missing its "
                    "initialisation)"
                )
            feeds[b.input] = value
        return feeds

    @functools.cached_property
    def _blas_threads(self) -> int | None:
        """numpy's BLAS threads during a run: one when a native backend runs part of the model
        (its thread team and BLAS's would fight for the cores: refimpl/blas_threads.py), else
        as they are."""
        native = any(b != REFERENCE for b in self.placement.backend_of.values())
        return 1 if native else None

    @functools.cached_property
    def _blas_cap(self) -> int | None:
        """BLAS threads during a run, all settings together: one beside a native backend, else
        the session's thread count (what using_threads' threadpoolctl cap would set)."""
        return self._blas_threads if self._blas_threads is not None else self.threads

    def _check_feeds(self, feeds: dict[str, Any]) -> dict[str, Any]:
        key = _feed_signature(feeds)
        if key is not None and key in self._valid_feeds:  # the steady state: feeds shaped as a
            return feeds  # run that passed before
        if not isinstance(feeds, dict):
            raise InputError(
                f"feeds must be a dict of input name to array, got {type(feeds).__name__}"
            )
        unknown = [n for n in feeds if n not in self._feedable]
        if unknown:
            raise InputError(
                f"model {self.graph.name!r} has no input(s) {unknown}; its inputs are "
                + ", ".join(f"{v.name}: {v.describe()}" for v in self.inputs)
            )
        missing = [n for n in self._required if n not in feeds]
        if missing:
            raise InputError(
                f"model {self.graph.name!r} needs input(s) {missing}: "
                + ", ".join(f"{n}: {self._feedable[n].describe()}" for n in missing)
            )
        symbols: dict[str, tuple[int, str]] = {}
        checked: dict[str, Any] = {}
        for name, value in feeds.items():
            checked[name] = _check_one(self._feedable[name], value, symbols)
        if key is not None and all(checked[n] is v for n, v in feeds.items()):
            if len(self._valid_feeds) >= _CACHED_SIGNATURES:  # every feed an array taken as is
                self._valid_feeds.pop(next(iter(self._valid_feeds)), None)
            self._valid_feeds[key] = True
        return checked


_CACHED_SIGNATURES = 16  # feed signatures a Session remembers as valid


def _feed_signature(feeds: Any) -> tuple | None:
    """(name, dtype, shape) per feed when `feeds` is a plain dict of plain numpy arrays (the
    only feeds whose check can be remembered), else None."""
    if type(feeds) is not dict:
        return None
    key = tuple([(n, v.dtype, v.shape) for n, v in feeds.items() if type(v) is np.ndarray])
    return key if len(key) == len(feeds) else None


def _check_one(spec: Value, value: Any, symbols: dict[str, tuple[int, str]]) -> Any:
    if spec.kind != "tensor":
        return value
    if not isinstance(value, np.ndarray):
        if isinstance(value, (np.generic, int, float, bool, list)):
            value = np.asarray(value, dtype=to_numpy(spec.dtype) if spec.dtype else None)
        else:
            raise InputError(
                f"input {spec.name!r} must be a numpy array, got {type(value).__name__}"
            )
    if not value.dtype.isnative:  # e.g. big-endian data read from a file: same values, our order
        value = value.astype(value.dtype.newbyteorder("="))
    if spec.dtype is not None:
        try:
            got = name_of(value.dtype)
        except GraphValidationError:
            raise InputError(
                f"input {spec.name!r} has numpy dtype {value.dtype}, which no model input can "
                f"take; it expects {spec.dtype}"
            ) from None
        if got != spec.dtype:
            raise InputError(
                f"input {spec.name!r} expects dtype {spec.dtype}, got {got} "
                f"(convert with array.astype(np.{spec.dtype}) if that is what you mean)"
            )
    if spec.shape is not None:
        if value.ndim != len(spec.shape):
            raise InputError(
                f"input {spec.name!r} expects rank {len(spec.shape)} {spec.describe()}, "
                f"got shape {list(value.shape)}"
            )
        for axis, (want, got_dim) in enumerate(zip(spec.shape, value.shape)):
            if isinstance(want, int) and want != got_dim:
                raise InputError(
                    f"input {spec.name!r} expects {spec.describe()}, got shape {list(value.shape)} "
                    f"(axis {axis} must be {want})"
                )
            if isinstance(want, str):
                seen = symbols.setdefault(want, (got_dim, spec.name))
                if seen[0] != got_dim:
                    raise InputError(
                        f"dimension {want!r} is {seen[0]} in input {seen[1]!r} but {got_dim} in "
                        f"input {spec.name!r} (axis {axis})"
                    )
    return value
