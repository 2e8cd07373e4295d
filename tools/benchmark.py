"""`gossamer benchmark`: latency of one model on chosen backends, its memory, the setting it ran
in, and a per-node and per-op-type profile.

Every run is timed with `time.perf_counter()` around `Session.run`. The first run of the session
is reported apart (the cold run: first-touch allocations, lazy kernel set-up, cold caches); the
statistics are over `loops` runs after `warmup` runs (with `warmup=0` the cold run is the first
of them). Percentiles interpolate linearly between runs (numpy.percentile). With a profile the
timed runs also accumulate seconds per executed node (the interpreter's `timings=`, which adds
two clock reads per node); a fused partition appears under its own name, and its backend is the
one that compiled it. `trace_session` records separate runs node by node for a Chrome/Perfetto
trace (observed runs do not use the memory arena, so they are not the timed ones).

Memory: the process's peak resident set (getrusage: loading, and whatever else this process did,
included) and the current resident set before and after the timed runs (Linux /proc; elsewhere
not measured); growth across the timed runs is what a run keeps and does not give back.

The report (text, JSON, chart) is in `benchmark_report`; the golden check in `golden`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..plugins.manager import all_backends
from ..plugins.run_context import default_threads
from ..profiling import TraceRecorder
from ..refimpl.dtypes import name_of
from ..refimpl.errors import GraphValidationError, InputError
from ..session import DEFAULT_OPTIMIZE, ModelSource, Session, prepared_for_running, read_model
from .node_backend import placed_backend

PERCENTILES = (50, 90, 95, 99)


@dataclass
class LoadTimes:
    """Seconds to read the model file, optimise the graph, and create the Session (plan,
    compile, resolve)."""

    read_s: float
    session_s: float
    optimize_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.read_s + self.optimize_s + self.session_s


@dataclass
class NodeProfile:
    """One executed node (or fused partition): its accumulated time over the timed runs."""

    name: str
    op_type: str
    backend: str
    total_s: float
    calls: int
    fallback_calls: int = 0  # calls the backend declined at run time (the reference ran them)


@dataclass
class InputInfo:
    """One fed input: what it was, and where it came from (e.g. {"kind": "random", ...})."""

    name: str
    dtype: str
    shape: list[int] | None
    source: dict[str, Any]


@dataclass
class MemoryUse:
    """Bytes: the process's peak resident set so far, and the resident set around the timed
    runs (None where the platform does not say)."""

    peak_rss: int | None
    rss_before: int | None
    rss_after: int | None

    @property
    def rss_growth(self) -> int | None:
        if self.rss_before is None or self.rss_after is None:
            return None
        return self.rss_after - self.rss_before


@dataclass
class BackendUse:
    """A backend that runs nodes of this session: its self-description (the SIMD level, for
    the CPU backend) and how many nodes it runs."""

    name: str
    description: str
    nodes: int


@dataclass
class TraceInfo:
    path: str
    runs: int
    node_events: int


@dataclass
class BenchmarkResult:
    model: str
    threads: int | None  # as requested (None: the default)
    threads_used: int
    warmup: int
    loops: int
    load: LoadTimes
    cold_s: float  # the session's first run
    warmup_s: list[float]
    latencies_s: list[float]
    placement: dict[str, int]  # backend -> node count
    backends: list[BackendUse] = field(default_factory=list)
    inputs: list[InputInfo] = field(default_factory=list)
    memory: MemoryUse = field(default_factory=lambda: MemoryUse(None, None, None))
    optimize: int = 0
    nodes: list[NodeProfile] | None = None  # with a profile, in execution order
    runtime_fallbacks: dict[str, tuple[int, str]] = field(default_factory=dict)
    trace: TraceInfo | None = None
    plot: str | None = None  # the chart's path, once written
    outputs: list[Any] = field(default_factory=list, repr=False)
    output_names: list[str] = field(default_factory=list)

    def stats_ms(self) -> dict[str, float]:
        """mean, std (sample; 0 for one run), min, median, p50/p90/p95/p99, max of the timed runs,
        in ms."""
        ms = [t * 1000 for t in self.latencies_s]
        out = {
            "mean": statistics.fmean(ms),
            "std": statistics.stdev(ms) if len(ms) > 1 else 0.0,
            "min": min(ms),
            "median": statistics.median(ms),
        }
        for p, value in zip(PERCENTILES, np.percentile(ms, PERCENTILES)):
            out[f"p{p}"] = float(value)
        out["max"] = max(ms)
        return out

    @property
    def cold_in_timed(self) -> bool:
        """With no warm-up the cold run is also the first timed run."""
        return self.warmup == 0

    def op_types(self) -> list[NodeProfile]:
        """The profile summed per op type (calls add up over nodes), slowest first."""
        by_type: dict[str, NodeProfile] = {}
        for n in self.nodes or []:
            row = by_type.setdefault(n.op_type, NodeProfile(n.op_type, n.op_type, "", 0.0, 0))
            row.total_s += n.total_s
            row.calls += n.calls
            row.fallback_calls += n.fallback_calls
            backends = set(filter(None, row.backend.split(","))) | {n.backend}
            row.backend = ",".join(sorted(backends))
        return sorted(by_type.values(), key=lambda r: -r.total_s)

    def op_backend_ms(self) -> dict[str, dict[str, float]]:
        """Average ms per run per op type, split by backend: {op type: {backend: ms}}, slowest op
        type first (what the chart draws)."""
        split: dict[str, dict[str, float]] = {}
        for n in self.nodes or []:
            per = split.setdefault(n.op_type, {})
            per[n.backend] = per.get(n.backend, 0.0) + n.total_s / self.loops * 1000
        return dict(sorted(split.items(), key=lambda kv: -sum(kv[1].values())))


def load_timed(
    source: ModelSource,
    *,
    backends: Sequence[str] | None = None,
    threads: int | None = None,
    optimize: int = DEFAULT_OPTIMIZE,
    backend_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Session, LoadTimes]:
    """A Session for `source` (optimised at level `optimize`, as `gossamer.load` does) and how
    long each step of loading took."""
    if not isinstance(optimize, int) or not 0 <= optimize <= 3:
        raise InputError(f"optimize must be a level 0..3, got {optimize!r}")
    start = time.perf_counter()
    graph = read_model(source)
    read = time.perf_counter() - start
    start = time.perf_counter()
    graph = prepared_for_running(graph, optimize, backends)
    optimized = time.perf_counter() - start
    start = time.perf_counter()
    sess = Session(graph, backends=backends, threads=threads, backend_options=backend_options)
    return sess, LoadTimes(read, time.perf_counter() - start, optimized)


def benchmark_session(
    sess: Session,
    feeds: dict[str, Any],
    *,
    load: LoadTimes,
    model: str = "",
    warmup: int = 1,
    loops: int = 10,
    profile: bool = False,
    sources: dict[str, dict[str, Any]] | None = None,
    optimize: int = 0,
) -> BenchmarkResult:
    """Runs `sess` `warmup` times, then `loops` timed times, timing every run; the first (the
    cold run, when `sess` has not run before) is reported apart. `sources` says where each feed
    came from (default {"kind": "given"})."""
    if loops < 1 or warmup < 0:
        raise InputError(f"need loops >= 1 and warmup >= 0, got loops={loops}, warmup={warmup}")
    fallbacks_before = sess.runtime_fallbacks
    warmup_s = [_timed_run(sess, feeds, None)[0] for _ in range(warmup)]
    timings: dict[str, float] | None = {} if profile else None
    fallbacks_timed = sess.runtime_fallbacks
    rss_before = current_rss()
    latencies: list[float] = []
    outputs: list[Any] = []
    for _ in range(loops):
        seconds, outputs = _timed_run(sess, feeds, timings)
        latencies.append(seconds)
    rss_after = current_rss()
    peak = peak_rss()  # the kernel updates the high-water mark lazily: never below what we saw
    if peak is not None:
        peak = max(peak, rss_before or 0, rss_after or 0)
    memory = MemoryUse(peak, rss_before, rss_after)
    fallbacks = _fallbacks_since(sess, fallbacks_before)
    result = BenchmarkResult(
        model=model,
        threads=sess.threads,
        threads_used=sess.threads or default_threads(),
        warmup=warmup,
        loops=loops,
        load=load,
        cold_s=(warmup_s or latencies)[0],
        warmup_s=warmup_s,
        latencies_s=latencies,
        placement=sess.placement.summary(),
        backends=backends_in_use(sess),
        inputs=[
            _input_info(name, value, (sources or {}).get(name)) for name, value in feeds.items()
        ],
        memory=memory,
        optimize=optimize,
        runtime_fallbacks=fallbacks,
        outputs=outputs,
        output_names=[v.name for v in sess.outputs],
    )
    if timings is not None:
        result.nodes = _profile(sess, timings, loops, _fallbacks_since(sess, fallbacks_timed))
    return result


def trace_session(
    sess: Session, feeds: dict[str, Any], runs: int, path: str | os.PathLike[str]
) -> TraceInfo:
    """Writes `runs` runs, observed node by node, to `path` as a Chrome/Perfetto trace."""
    if runs < 1:
        raise InputError(f"need at least one traced run, got {runs}")
    recorder = TraceRecorder(sess)
    for _ in range(runs):
        sess.run(None, feeds, observers=[recorder])
        recorder.end_run()
    nodes = sum(1 for e in recorder.events if e["tid"] != 0)  # track 0 holds the runs
    return TraceInfo(recorder.write(path), runs, nodes)


def backends_in_use(sess: Session) -> list[BackendUse]:
    """The backends that run nodes of `sess`, most nodes first, each as it describes itself."""
    known = all_backends()
    return [
        BackendUse(name, known[name].describe() if name in known else name, count)
        for name, count in sess.placement.summary().items()
    ]


def _timed_run(
    sess: Session, feeds: dict[str, Any], timings: dict[str, float] | None
) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    outputs = sess.run(None, feeds, timings=timings)
    return time.perf_counter() - start, outputs


def _fallbacks_since(
    sess: Session, before: dict[str, tuple[int, str]]
) -> dict[str, tuple[int, str]]:
    """node -> (calls the reference ran instead of the placed backend since `before`, reason)."""
    out = {}
    for name, (calls, reason) in sess.runtime_fallbacks.items():
        earlier = before.get(name, (0, ""))[0]
        if calls > earlier:
            out[name] = (calls - earlier, reason)
    return out


def _profile(
    sess: Session, timings: dict[str, float], loops: int, fallbacks: dict[str, tuple[int, str]]
) -> list[NodeProfile]:
    """The timed nodes in execution order (the order `timings` first saw them)."""
    nodes = {n.name: n for n in sess.graph.nodes}
    partitions = sess.fused_partitions  # fused nodes stand in the executed graph, not sess.graph
    rows = []
    for name, seconds in timings.items():
        if name in partitions:
            op_type, backend = "Partition", name.rpartition("_partition_")[0]
        elif name in nodes:
            op_type, backend = nodes[name].op_type, placed_backend(sess, nodes[name])
        else:
            continue  # not a top-level node of this session
        calls = fallbacks.get(name, (0, ""))[0]
        rows.append(NodeProfile(name, op_type, backend, seconds, loops, calls))
    return rows


def _input_info(name: str, value: Any, source: dict[str, Any] | None) -> InputInfo:
    if isinstance(value, np.ndarray):
        try:
            dtype = name_of(value.dtype)
        except GraphValidationError:
            dtype = str(value.dtype)
        shape: list[int] | None = [int(d) for d in value.shape]
    else:
        dtype, shape = type(value).__name__, None
    return InputInfo(name, dtype, shape, source or {"kind": "given"})


# ---- memory -------------------------------------------------------------------------------------
def peak_rss() -> int | None:
    """The peak resident set of this process so far, in bytes (None where unknown)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes; Linux: KiB


def current_rss() -> int | None:
    """The resident set of this process now, in bytes (Linux; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
