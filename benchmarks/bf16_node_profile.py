"""Per-node profile of precision="bf16" against OpenVINO's default (bf16 on a CPU with
AVX512_BF16 / AMX): gossamer run node by node (an observer times each node, so no C partitions)
and OpenVINO's own per-node counters (PERF_COUNT, infer_request.get_profiling_info()).

    .venv/bin/python benchmarks/bf16_node_profile.py [--models resnet18,mobilenet_v2,minilm]
        [--threads 1] [--reps 10] [--top 15]

Per model: both engines' whole-run medians (gossamer without the observer), each one's per-node
medians summed by op type (OpenVINO: node type / kernel it picked) and its slowest nodes. The
machine is shared: the load is printed; per-node medians hide the preemptions a whole run takes.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bf16_speed import feeds_of, spec_of  # noqa: E402

Profile = dict[str, tuple[str, str, float]]  # node -> (op, detail, median us)


class _Marks:
    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, float]] = []
        self._t0 = 0

    def before_node(self, node, inputs) -> None:
        self._t0 = time.perf_counter_ns()

    def after_node(self, node, inputs, outputs) -> None:
        shape = str(tuple(getattr(outputs[0], "shape", ()))) if outputs else "()"
        us = (time.perf_counter_ns() - self._t0) / 1e3
        self.spans.append((node.name, node.op_type, shape, us))


def whole_run_ms(run: Callable[[], object], reps: int) -> float:
    """The median of `reps` timed calls of run() after 3 untimed ones, in ms."""
    for _ in range(3):
        run()
    whole = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        whole.append(time.perf_counter() - t0)
    return statistics.median(whole) * 1e3


def gossamer_profile(
    spec: dict, feeds: dict, threads: int, reps: int, precision: str = "bf16"
) -> tuple[float, Profile]:
    import gossamer

    sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads, precision=precision)
    whole_ms = whole_run_ms(lambda: sess.run(None, feeds), reps)
    per: dict[str, list[float]] = collections.defaultdict(list)
    info: dict[str, tuple[str, str]] = {}
    for _ in range(reps):
        marks = _Marks()
        sess.run(None, feeds, observers=[marks])
        for name, op, shape, us in marks.spans:
            per[name].append(us)
            info[name] = (op, shape)
    return whole_ms, {n: (*info[n], statistics.median(v)) for n, v in per.items()}


def openvino_profile(
    spec: dict, feeds: dict, threads: int, reps: int, precision: str | None = None
) -> tuple[float, Profile]:
    """OpenVINO's per-node counters; precision: its INFERENCE_PRECISION_HINT (None: its default,
    bf16 where the CPU has it)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(spec["onnx"])
    if spec.get("dynamic"):
        model.reshape({name: list(value.shape) for name, value in feeds.items()})
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True}
    if precision is not None:
        config["INFERENCE_PRECISION_HINT"] = precision
    request = core.compile_model(model, "CPU", config).create_infer_request()
    for _ in range(3):
        request.infer(feeds)
    whole = []
    per: dict[str, list[float]] = collections.defaultdict(list)
    info: dict[str, tuple[str, str]] = {}
    for _ in range(reps):
        t0 = time.perf_counter()
        request.infer(feeds)
        whole.append(time.perf_counter() - t0)
        for p in request.get_profiling_info():
            if p.status.name == "EXECUTED":
                per[p.node_name].append(p.real_time.total_seconds() * 1e6)
                info[p.node_name] = (p.node_type, p.exec_type)
    prof = {n: (*info[n], statistics.median(v)) for n, v in per.items()}
    return statistics.median(whole) * 1e3, prof


def report(label: str, whole_ms: float, prof: Profile, top: int) -> None:
    total = sum(us for _, _, us in prof.values()) / 1e3
    print(f"{label}: whole run {whole_ms:.2f} ms, per-node medians sum {total:.2f} ms")
    by: dict[str, float] = collections.defaultdict(float)
    for op, detail, us in prof.values():
        by[op if label.startswith("gossamer") else f"{op}/{detail}"] += us
    print(
        "  by op:",
        ", ".join(f"{k} {v / 1e3:.2f}" for k, v in sorted(by.items(), key=lambda x: -x[1])),
    )
    for name, (op, detail, us) in sorted(prof.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"  {us:9.1f} us  {op:18s} {detail:30s} {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="resnet18,mobilenet_v2,minilm")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()}")
    for name in args.models.split(","):
        spec = spec_of(name)
        feeds = feeds_of(spec)
        print(f"\n=== {name}, {args.threads} thread(s)")
        report("gossamer bf16", *gossamer_profile(spec, feeds, args.threads, args.reps), args.top)
        report("OpenVINO bf16", *openvino_profile(spec, feeds, args.threads, args.reps), args.top)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
