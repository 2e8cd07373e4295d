"""`gossamer benchmark`: latency of one model on chosen backends, a per-node and per-op-type
profile, and a golden-output check.

Latency is `time.perf_counter()` around `Session.run` over `loops` runs after `warmup` runs. With a
profile the timed runs also accumulate seconds per executed node (the interpreter's `timings=`; a
fused partition appears under its own name, and its backend is the one that compiled it), shown
like MindSpore Lite's `timeProfiling`: average ms per run, % of the total, calls.

The golden check compares each output with a stored `.npz`: the mean relative error (percent; per
element |a - b| / |b|, or |a - b| where |b| <= 1e-6, as MindSpore Lite's benchmark does) and the
cosine similarity. Above the threshold the check fails.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..refimpl.errors import InputError
from ..refimpl.ir import PARTITION_DOMAIN, Node
from ..session import ModelSource, Session, read_model

_NEAR_ZERO = 1e-6  # below this |reference| the error counts as absolute, not relative


@dataclass
class LoadTimes:
    """Seconds to read the model file and to create the Session (plan, compile, resolve)."""

    read_s: float
    session_s: float

    @property
    def total_s(self) -> float:
        return self.read_s + self.session_s


@dataclass
class NodeProfile:
    """One executed node (or fused partition): its accumulated time over the timed runs."""

    name: str
    op_type: str
    backend: str
    total_s: float
    calls: int


@dataclass
class OutputCheck:
    """One output against its golden value."""

    name: str
    mean_rel_err_pct: float
    cosine: float
    ok: bool
    note: str = ""


@dataclass
class GoldenResult:
    path: str
    action: str  # "wrote" or "compared"
    threshold_pct: float
    outputs: list[OutputCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.ok for o in self.outputs)


@dataclass
class BenchmarkResult:
    model: str
    threads: int | None
    warmup: int
    loops: int
    load: LoadTimes
    latencies_s: list[float]
    placement: dict[str, int]  # backend -> node count
    nodes: list[NodeProfile] | None = None  # with a profile, in execution order
    outputs: list[Any] = field(default_factory=list, repr=False)
    output_names: list[str] = field(default_factory=list)

    def stats_ms(self) -> dict[str, float]:
        ms = [t * 1000 for t in self.latencies_s]
        return {
            "min": min(ms),
            "median": statistics.median(ms),
            "max": max(ms),
            "mean": statistics.fmean(ms),
        }

    def op_types(self) -> list[NodeProfile]:
        """The profile summed per op type (calls add up over nodes), slowest first."""
        by_type: dict[str, NodeProfile] = {}
        for n in self.nodes or []:
            row = by_type.setdefault(n.op_type, NodeProfile(n.op_type, n.op_type, "", 0.0, 0))
            row.total_s += n.total_s
            row.calls += n.calls
            backends = set(filter(None, row.backend.split(","))) | {n.backend}
            row.backend = ",".join(sorted(backends))
        return sorted(by_type.values(), key=lambda r: -r.total_s)


class _ExecutionOrder:
    """A node observer that records the executed nodes (fused partitions included), once each."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}

    def before_node(self, node: Node, inputs: Sequence[Any]) -> None:
        self.nodes.setdefault(node.name, node)

    def after_node(self, node: Node, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
        pass


def load_timed(
    source: ModelSource, *, backends: Sequence[str] | None = None, threads: int | None = None
) -> tuple[Session, LoadTimes]:
    """A Session for `source` and how long reading and session creation took."""
    start = time.perf_counter()
    graph = read_model(source)
    read = time.perf_counter() - start
    start = time.perf_counter()
    sess = Session(graph, backends=backends, threads=threads)
    return sess, LoadTimes(read, time.perf_counter() - start)


def benchmark_session(
    sess: Session,
    feeds: dict[str, Any],
    *,
    load: LoadTimes,
    model: str = "",
    warmup: int = 1,
    loops: int = 10,
    profile: bool = False,
) -> BenchmarkResult:
    """Times `loops` runs of `sess` after `warmup` runs (at least one run happens untimed, to learn
    the execution order when profiling)."""
    if loops < 1 or warmup < 0:
        raise InputError(f"need loops >= 1 and warmup >= 0, got loops={loops}, warmup={warmup}")
    order = _ExecutionOrder()
    outputs: list[Any] = []
    for i in range(max(warmup, 1 if profile else 0)):
        outputs = sess.run(None, feeds, observers=[order] if i == 0 and profile else ())
    timings: dict[str, float] | None = {} if profile else None
    latencies = []
    for _ in range(loops):
        start = time.perf_counter()
        outputs = sess.run(None, feeds, timings=timings)
        latencies.append(time.perf_counter() - start)
    result = BenchmarkResult(
        model=model,
        threads=sess.threads,
        warmup=warmup,
        loops=loops,
        load=load,
        latencies_s=latencies,
        placement=sess.placement.summary(),
        outputs=outputs,
        output_names=[v.name for v in sess.graph.outputs],
    )
    if timings is not None:
        result.nodes = [
            NodeProfile(name, _op_label(node), _backend_of(sess, node), timings[name], loops)
            for name, node in order.nodes.items()
            if name in timings
        ]
    return result


def _op_label(node: Node) -> str:
    return "Partition" if node.domain == PARTITION_DOMAIN else node.op_type


def _backend_of(sess: Session, node: Node) -> str:
    backend = sess.placement.backend_of.get(node.name)
    if backend is None and node.domain == PARTITION_DOMAIN:
        # a fused node is named "<backend>_partition_<index>"
        backend = node.name.rpartition("_partition_")[0]
    return backend or "?"


# ---- golden outputs -----------------------------------------------------------------------------
def check_golden(
    path: str | Path, names: Sequence[str], outputs: Sequence[Any], threshold_pct: float = 1.0
) -> GoldenResult:
    """Writes the outputs to `path` if it does not exist; otherwise compares them with it."""
    path = Path(path)
    arrays = {n: v for n, v in zip(names, outputs) if isinstance(v, np.ndarray)}
    if not path.exists():
        np.savez(
            path, **{n: (v.astype(str) if v.dtype == object else v) for n, v in arrays.items()}
        )
        return GoldenResult(str(path), "wrote", threshold_pct)
    try:
        with np.load(path, allow_pickle=False) as stored:
            golden = {k: stored[k] for k in stored.files}
    except (OSError, ValueError) as err:
        raise InputError(f"golden file {str(path)!r} is not a readable .npz: {err}") from None
    result = GoldenResult(str(path), "compared", threshold_pct)
    for name in names:
        if name not in arrays:
            continue  # a sequence or map output has no stored array
        if name not in golden:
            note = f"not in the golden file (it has {sorted(golden)})"
            result.outputs.append(OutputCheck(name, math.inf, 0.0, False, note))
            continue
        err, cosine, note = compare_output(arrays[name], golden[name])
        result.outputs.append(OutputCheck(name, err, cosine, err <= threshold_pct, note))
    return result


def compare_output(actual: np.ndarray, expected: np.ndarray) -> tuple[float, float, str]:
    """(mean relative error in percent, cosine similarity, note) of `actual` against `expected`."""
    if actual.shape != expected.shape:
        return math.inf, 0.0, f"shape {list(actual.shape)} != golden {list(expected.shape)}"
    if actual.dtype.kind in "OUS" or expected.dtype.kind in "OUS":
        same = bool(np.array_equal(actual.astype(str), expected.astype(str)))
        return (0.0, 1.0, "") if same else (100.0, 0.0, "strings differ")
    a = actual.astype(np.float64).ravel()
    b = expected.astype(np.float64).ravel()
    if a.size == 0:
        return 0.0, 1.0, "empty"
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)  # a NaN on one side only is an infinite error
    scale = np.where(np.abs(b) > _NEAR_ZERO, np.abs(b), 1.0)
    err = float(np.mean(diff / scale) * 100)
    finite = np.isfinite(a) & np.isfinite(b)
    a, b = a[finite], b[finite]
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0:
        cosine = 1.0 if not a.any() and not b.any() else 0.0
    else:
        cosine = float(np.dot(a, b) / norms)
    return err, cosine, ""


# ---- report -------------------------------------------------------------------------------------
def format_report(result: BenchmarkResult, golden: GoldenResult | None = None) -> str:
    """Human-readable tables: load, latency, the profile tables, the golden check."""
    s = result.stats_ms()
    used = ", ".join(f"{b} {n}" for b, n in result.placement.items())
    lines = [
        f"model: {result.model}  ({used}; threads {result.threads or 'default'})",
        f"load: {result.load.total_s * 1000:.1f} ms (read {result.load.read_s * 1000:.1f} ms, "
        f"session {result.load.session_s * 1000:.1f} ms)",
        f"latency over {result.loops} runs after {result.warmup} warm-up: min {s['min']:.3f} ms, "
        f"median {s['median']:.3f} ms, max {s['max']:.3f} ms, mean {s['mean']:.3f} ms",
    ]
    if result.nodes is not None:
        total = sum(n.total_s for n in result.nodes) or 1e-12
        per_node = sorted(result.nodes, key=lambda n: -n.total_s)
        lines += ["", "per node (slowest first):"]
        lines += _profile_table(per_node, result.loops, total, "node")
        lines += ["", "per op type:"]
        lines += _profile_table(result.op_types(), result.loops, total, "op type")
    if golden is not None:
        lines.append("")
        if golden.action == "wrote":
            lines.append(f"golden: wrote {len(result.output_names)} output(s) to {golden.path}")
        else:
            lines.append(f"golden: {golden.path} (threshold {golden.threshold_pct:g} %)")
            for o in golden.outputs:
                mark = "ok  " if o.ok else "FAIL"
                note = f"  {o.note}" if o.note else ""
                lines.append(
                    f"  {mark} {o.name}: mean relative error {o.mean_rel_err_pct:.4g} %, "
                    f"cosine {o.cosine:.6f}{note}"
                )
            lines.append("golden check " + ("passed" if golden.passed else "FAILED"))
    return "\n".join(lines)


def _profile_table(rows: list[NodeProfile], loops: int, total: float, title: str) -> list[str]:
    width = max([len(r.name) for r in rows] + [len(title)])
    op_w = max([len(r.op_type) for r in rows] + [7])
    be_w = max([len(r.backend) for r in rows] + [7])
    head = f"  {title:<{width}}  "
    head += "" if title == "op type" else f"{'op type':<{op_w}}  "
    head += f"{'backend':<{be_w}}  {'avg ms':>9}  {'%':>6}  {'calls':>6}  {'total ms':>10}"
    out = [head]
    for r in rows:
        line = f"  {r.name:<{width}}  " + ("" if title == "op type" else f"{r.op_type:<{op_w}}  ")
        line += (
            f"{r.backend:<{be_w}}  {r.total_s / loops * 1000:9.3f}  "
            f"{100 * r.total_s / total:6.2f}  {r.calls:6d}  {r.total_s * 1000:10.3f}"
        )
        out.append(line)
    return out


def report_dict(result: BenchmarkResult, golden: GoldenResult | None = None) -> dict[str, Any]:
    """The machine-readable form of a benchmark (what `--json` prints)."""
    out: dict[str, Any] = {
        "model": result.model,
        "placement": result.placement,
        "threads": result.threads,
        "warmup": result.warmup,
        "loops": result.loops,
        "load_ms": {
            "read": result.load.read_s * 1000,
            "session": result.load.session_s * 1000,
            "total": result.load.total_s * 1000,
        },
        "latency_ms": result.stats_ms(),
        "runs_ms": [t * 1000 for t in result.latencies_s],
    }
    if result.nodes is not None:
        total = sum(n.total_s for n in result.nodes) or 1e-12

        def row(n: NodeProfile) -> dict[str, Any]:
            d = asdict(n)
            d["avg_ms"] = n.total_s / result.loops * 1000
            d["percent"] = 100 * n.total_s / total
            d["total_ms"] = d.pop("total_s") * 1000
            return d

        op_rows = [row(n) for n in result.op_types()]
        for d in op_rows:
            d.pop("name")
        out["profile"] = {"nodes": [row(n) for n in result.nodes], "op_types": op_rows}
    if golden is not None:
        out["golden"] = {
            "path": golden.path,
            "action": golden.action,
            "threshold_pct": golden.threshold_pct,
            "passed": golden.passed,
            "outputs": [_finite(asdict(o)) for o in golden.outputs],
        }
    return out


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity: an infinite error becomes null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def report_json(result: BenchmarkResult, golden: GoldenResult | None = None) -> str:
    return json.dumps(report_dict(result, golden), indent=1)
