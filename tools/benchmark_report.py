"""What `gossamer benchmark` shows: the text report, the JSON document, the op-type chart.

The profile tables follow MindSpore Lite's `timeProfiling` (average ms per run, % of the total,
calls); `top` keeps the slowest rows and says what the rest add up to. JSON keeps every row.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .benchmark import BenchmarkResult, InputInfo, NodeProfile
from .golden import GoldenResult
from .plots import PlotError, bar_chart, series_colors

_MIB = 1024 * 1024


def format_report(
    result: BenchmarkResult, golden: GoldenResult | None = None, *, top: int | None = None
) -> str:
    """Human-readable: the setting, load, latency, memory, the profile tables, the golden
    check."""
    lines = _setting(result)
    load = result.load
    lines.append(
        f"load: {load.total_s * 1000:.1f} ms (read {load.read_s * 1000:.1f} ms, optimize "
        f"{load.optimize_s * 1000:.1f} ms, session {load.session_s * 1000:.1f} ms)"
    )
    s = result.stats_ms()
    cold_note = "  (also the first timed run: --warmup 0)" if result.cold_in_timed else ""
    lines += [
        f"latency over {result.loops} runs after {result.warmup} warm-up (ms):",
        f"  cold (first run)  {result.cold_s * 1000:.3f}{cold_note}",
        f"  mean {s['mean']:.3f}  std {s['std']:.3f}  min {s['min']:.3f}  p50 {s['p50']:.3f}  "
        f"p90 {s['p90']:.3f}  p99 {s['p99']:.3f}  max {s['max']:.3f}",
    ]
    if len(result.warmup_s) > 1:
        warm = statistics.fmean(result.warmup_s[1:])
        lines.append(f"  warm-up runs after the cold one: mean {warm * 1000:.3f}")
    lines.append(_memory_line(result))
    if result.runtime_fallbacks:
        lines.append("runtime fallbacks (the backend declined the call; the reference ran it):")
        for name, (calls, reason) in result.runtime_fallbacks.items():
            lines.append(f"  {name}: {calls} call(s): {reason}")
    if result.nodes is not None:
        total = sum(n.total_s for n in result.nodes) or 1e-12
        per_node = sorted(result.nodes, key=lambda n: -n.total_s)
        lines += ["", "per node (slowest first):"]
        lines += _profile_table(per_node, result.loops, total, "node", top)
        lines += ["", "per op type:"]
        lines += _profile_table(result.op_types(), result.loops, total, "op type", top)
        if any(n.fallback_calls for n in result.nodes):
            lines.append("  * some calls declined at run time and ran on the reference")
    if result.trace is not None:
        t = result.trace
        lines += [
            "",
            f"trace: {t.node_events} node events from {t.runs} run(s) written to {t.path} "
            "(observed runs, node by node without the memory arena; open in ui.perfetto.dev)",
        ]
    if result.plot is not None:
        lines.append(f"plot: time per op type and backend written to {result.plot}")
    if golden is not None:
        lines += ["", *_golden_lines(result, golden)]
    return "\n".join(lines)


def _setting(result: BenchmarkResult) -> list[str]:
    backends = ", ".join(  # a backend's description names its SIMD level, if it has one
        f"{b.description}: {b.nodes} node{'s' if b.nodes != 1 else ''}" for b in result.backends
    )
    threads = f"{result.threads_used}" + (
        " (default: the cores this process may use)" if result.threads is None else ""
    )
    lines = [
        f"model: {result.model}  (-O{result.optimize})",
        f"backends: {backends}",
        f"threads: {threads}",
        "inputs:",
    ]
    lines += [f"  {i.name}: {_type_text(i)}  {describe_source(i.source)}" for i in result.inputs]
    if not result.inputs:
        lines[-1] += " (none)"
    return lines


def _type_text(info: InputInfo) -> str:
    if info.shape is None:
        return info.dtype
    return f"{info.dtype}[{','.join(str(d) for d in info.shape)}]"


def describe_source(source: dict[str, Any]) -> str:
    """One phrase for where an input came from: {"kind": "file", "from": ...}, {"kind":
    "random", "seed": N, "shape_from": "--shape" or "model", "symbolic": {dim: size}}, or
    {"kind": "given"} (a caller's own array)."""
    kind = source.get("kind")
    if kind == "file":
        return f"from {source.get('from')}"
    if kind != "random":
        return str(kind or "given")
    text = f"random (seed {source.get('seed')}), shape from "
    if source.get("shape_from") == "--shape":
        return text + "--shape"
    symbolic = source.get("symbolic") or {}
    text += "the model"
    if symbolic:
        dims = ", ".join(f"{k}={v}" for k, v in symbolic.items())
        text += f" (symbolic {dims}; set with --shape)"
    return text


def _memory_line(result: BenchmarkResult) -> str:
    m = result.memory
    peak = "n/a" if m.peak_rss is None else f"{m.peak_rss / _MIB:.1f} MiB"
    line = f"memory: peak RSS {peak} (the process's peak so far, loading included)"
    if m.rss_before is not None and m.rss_after is not None and m.rss_growth is not None:
        line += (
            f"; RSS {m.rss_before / _MIB:.1f} -> {m.rss_after / _MIB:.1f} MiB over the timed "
            f"runs ({m.rss_growth / _MIB:+.1f} MiB)"
        )
    return line


def _profile_table(
    rows: list[NodeProfile], loops: int, total: float, title: str, top: int | None
) -> list[str]:
    shown = rows if top is None else rows[:top]
    width = max([len(r.name) for r in shown] + [len(title)])
    op_w = max([len(r.op_type) for r in shown] + [7])
    be_w = max([len(r.backend) + (1 if r.fallback_calls else 0) for r in shown] + [7])
    head = f"  {title:<{width}}  "
    head += "" if title == "op type" else f"{'op type':<{op_w}}  "
    head += f"{'backend':<{be_w}}  {'avg ms':>9}  {'%':>6}  {'calls':>6}  {'total ms':>10}"
    out = [head]
    for r in shown:
        backend = r.backend + ("*" if r.fallback_calls else "")
        line = f"  {r.name:<{width}}  " + ("" if title == "op type" else f"{r.op_type:<{op_w}}  ")
        line += (
            f"{backend:<{be_w}}  {r.total_s / loops * 1000:9.3f}  "
            f"{100 * r.total_s / total:6.2f}  {r.calls:6d}  {r.total_s * 1000:10.3f}"
        )
        out.append(line)
    rest = rows[len(shown) :]
    if rest:
        share = 100 * sum(r.total_s for r in rest) / total
        noun = title if len(rest) == 1 else ("nodes" if title == "node" else "op types")
        out.append(
            f"  ... {len(rest)} more {noun} left out (--top {top}): {share:.2f} % of the time"
        )
    return out


def _golden_lines(result: BenchmarkResult, golden: GoldenResult) -> list[str]:
    if golden.action == "wrote":
        return [f"golden: wrote {len(result.output_names)} output(s) to {golden.path}"]
    lines = [f"golden: {golden.path} (threshold {golden.threshold_pct:g} %)"]
    for o in golden.outputs:
        mark = "ok  " if o.ok else "FAIL"
        note = f"  {o.note}" if o.note else ""
        lines.append(
            f"  {mark} {o.name}: mean relative error {o.mean_rel_err_pct:.4g} %, "
            f"cosine {o.cosine:.6f}{note}"
        )
    lines.append("golden check " + ("passed" if golden.passed else "FAILED"))
    return lines


# ---- JSON ---------------------------------------------------------------------------------------
def report_dict(result: BenchmarkResult, golden: GoldenResult | None = None) -> dict[str, Any]:
    """The machine-readable form of a benchmark (what `--json` prints). Times in ms, memory in
    bytes."""
    m = result.memory
    out: dict[str, Any] = {
        "model": result.model,
        "optimize": result.optimize,
        "placement": result.placement,
        "backends": [asdict(b) for b in result.backends],
        "threads": result.threads,
        "threads_used": result.threads_used,
        "inputs": [asdict(i) for i in result.inputs],
        "warmup": result.warmup,
        "loops": result.loops,
        "load_ms": {
            "read": result.load.read_s * 1000,
            "optimize": result.load.optimize_s * 1000,
            "session": result.load.session_s * 1000,
            "total": result.load.total_s * 1000,
        },
        "cold_ms": result.cold_s * 1000,
        "cold_in_timed_runs": result.cold_in_timed,
        "latency_ms": result.stats_ms(),
        "runs_ms": [t * 1000 for t in result.latencies_s],
        "warmup_runs_ms": [t * 1000 for t in result.warmup_s],
        "memory": {
            "peak_rss_bytes": m.peak_rss,
            "peak_rss_scope": "process",
            "rss_before_timed_runs_bytes": m.rss_before,
            "rss_after_timed_runs_bytes": m.rss_after,
            "rss_growth_bytes": m.rss_growth,
        },
        "runtime_fallbacks": {
            name: {"calls": calls, "reason": reason}
            for name, (calls, reason) in result.runtime_fallbacks.items()
        },
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
    if result.trace is not None:
        out["trace"] = asdict(result.trace)
    if result.plot is not None:
        out["plot"] = result.plot
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


# ---- chart --------------------------------------------------------------------------------------
def plot_profile(result: BenchmarkResult, path: str, *, top: int | None = None) -> str:
    """A horizontal bar per op type (slowest on top), its average ms per run split by backend
    colour; with `top`, the rest summed into one "other" bar. Returns the path written."""
    if result.nodes is None:
        raise ValueError("plot_profile needs a profiled result (profile=True)")
    split = result.op_backend_ms()
    if not split:
        raise PlotError(f"{path}: the model ran no nodes, so there is no time to plot")
    labels = list(split)
    if top is not None and len(labels) > top + 1:  # one left-out bar is drawn as itself
        other: dict[str, float] = {}
        for op in labels[top:]:
            for backend, ms in split[op].items():
                other[backend] = other.get(backend, 0.0) + ms
        split = {op: split[op] for op in labels[:top]}
        split[f"other ({len(labels) - top} op types)"] = other
        labels = list(split)
    backends = [b.name for b in result.backends]
    backends += sorted({b for per in split.values() for b in per} - set(backends))
    series = {b: [split[op].get(b, 0.0) for op in labels] for b in backends}
    series = {b: values for b, values in series.items() if any(values)}
    name = Path(result.model).name
    title = f"{name}: time per op type and backend (mean of {result.loops} runs)"
    return bar_chart(path, labels, series, title=title, value_label="ms per run",
                     colors=series_colors(backends), legend=True)  # fmt: skip
