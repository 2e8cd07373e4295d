"""The opencl backend on each OpenCL CPU runtime here, in each precision, against cython: PoCL
fp32 and fp16 storage, Intel's CPU runtime (`pip install 'gossamer[opencl-intel]'`) fp32, fp16
storage (`fp16_arith=storage`) and fp16 native (half arithmetic in the element-wise kernels),
all side by side in one process on the same cores, runs interleaved (one run of each session in
turn, each after a 50 ms pause as in opencl_vs_cython.py).

Per model and configuration: the share of nodes on opencl, best / median latency, the ratio to
cython's best, session creation in this process (the program cache as it is: run twice for warm
figures), and for fp16 the error against cython's float32 outputs (max |difference| / max |output|).
Not a test: no timing is asserted; run nothing else heavy meanwhile.

    .venv/bin/python benchmarks/opencl_runtimes.py [--models mobilenet_v2,mtcnn_onet] [--runs 10]
        [--json out.json]

`--models ew_chain` times a 5-op element-wise chain on a 64x112x112 map, the kind of kernel
native half arithmetic changes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import bench_models  # noqa: E402
from gossamer.opencl_plugin.device import _devices, unavailable_reason  # noqa: E402
from opencl_vs_cython import latencies, model_and_feeds, report_end  # noqa: E402

import gossamer  # noqa: E402


def configurations() -> list[tuple[str, str, dict[str, Any]]]:
    """(label, backend, its options) per configuration on the devices here."""
    out: list[tuple[str, str, dict[str, Any]]] = [("cython", "cython", {})]
    if unavailable_reason():
        return out
    for p, d, label, dev in _devices()[1]:
        short = "intel" if label.startswith("Intel(R) OpenCL") else "pocl"
        where = f"{p}:{d}"
        out.append((f"{short} fp32", "opencl", {"device": where}))
        out.append((f"{short} fp16 storage", "opencl-fp16", {"device": where}))
        if "cl_khr_fp16" in dev.extensions.split():
            out[-1][2]["fp16_arith"] = "storage"
            native = {"device": where, "fp16_arith": "native"}
            out.append((f"{short} fp16 native", "opencl-fp16", native))
    return out


def launch_counts(sess: gossamer.Session) -> tuple[int, int]:
    """(launches a run makes on opencl, those of them computing in half: `ewh_` kernels)."""
    names = [
        kernel.function_name
        for o in sess._program.overrides.values()
        if o.partition and hasattr(o.impl, "plans")
        for plan in o.impl.plans()
        for kernel, *_ in plan.launches
    ]
    return len(names), sum(n.startswith("ewh_") for n in names)


CHAIN = "ew_chain"  # an element-wise chain the half kernels take whole


def chain_model() -> tuple[Any, dict[str, Any]]:
    """Add -> Mul -> Clip -> LeakyRelu -> Sub over (1, 64, 112, 112) with a per-channel operand:
    the kind of group native half arithmetic computes in half (none of the benchmark models has
    one left after the optimiser fuses element-wise ops into the convolutions)."""
    from onnx import TensorProto, helper, numpy_helper

    shape = [1, 64, 112, 112]
    rng = np.random.default_rng(0)
    scale = numpy_helper.from_array(rng.uniform(0.5, 1.5, (1, 64, 1, 1)).astype(np.float32), "k")
    lo = numpy_helper.from_array(np.array(-1.0, np.float32), "lo")
    hi = numpy_helper.from_array(np.array(6.0, np.float32), "hi")
    nodes = [
        helper.make_node("Add", ["x", "b"], ["s"]),
        helper.make_node("Mul", ["s", "k"], ["m"]),
        helper.make_node("Clip", ["m", "lo", "hi"], ["c"]),
        helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
        helper.make_node("Sub", ["l", "x"], ["y"]),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "b")]
    graph = helper.make_graph(
        nodes,
        CHAIN,
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        [scale, lo, hi],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    feeds = {n: rng.standard_normal(shape).astype(np.float32) for n in ("x", "b")}
    return model.SerializeToString(), feeds


def kernel_times(sess: gossamer.Session, rounds: int) -> list[float]:
    """Seconds to enqueue one run's launches and finish, without the host copies in and out
    (which under fp16 include numpy's float32 <-> float16 conversions)."""
    import pyopencl as cl

    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    (plan,) = part.plans()
    out = []
    for _ in range(rounds):
        time.sleep(0.01)
        start = time.perf_counter()
        for kernel, gsize, local in plan.enqueue:
            cl.enqueue_nd_range_kernel(part.device.queue, kernel, gsize, local)
        part.device.queue.finish()
        out.append(time.perf_counter() - start)
    return out


def bench(name: str, runs: int) -> list[dict[str, Any]]:
    model, feeds = chain_model() if name == CHAIN else model_and_feeds(name)
    rows, sessions = [], {}
    for label, backend, options in configurations():
        start = time.perf_counter()
        try:
            sess = gossamer.load(
                model, backends=[backend], backend_options={backend: options} if options else None
            )
            row: dict[str, Any] = {"model": name, "config": label}
            row["create_s"] = time.perf_counter() - start
            placed = list(sess.placement.backend_of.values())
            row["share"] = placed.count(backend) / len(placed)
            row["outputs"] = sess.run(None, feeds)  # warm-up, and the outputs compared below
            row["launches"], row["half_launches"] = launch_counts(sess)
            sessions[label] = sess
        except Exception as err:  # one configuration's failure is a row, not the end of the run
            row = {"model": name, "config": label, "error": f"{type(err).__name__}: {err}"[:200]}
        rows.append(row)
    times: dict[str, list[float]] = {label: [] for label in sessions}
    for _ in range(runs):  # interleaved, so load from other processes hits all alike
        for label, sess in sessions.items():
            times[label] += latencies(sess, feeds, 1)
    if name == CHAIN:  # the launches alone: what half arithmetic changes, without the copies
        for row in rows:
            sess = sessions.get(row["config"])
            if sess is not None and row["config"] != "cython":
                t = kernel_times(sess, runs * 5)
                row["kernel_best_ms"], row["kernel_median_ms"] = (
                    min(t) * 1e3,
                    statistics.median(t) * 1e3,
                )
    ref = next(r for r in rows if r["config"] == "cython").get("outputs")
    base = min(times["cython"]) if times.get("cython") else None
    for row in rows:
        outs = row.pop("outputs", None)
        if row["config"] not in times:
            continue
        t = times[row["config"]]
        row["best_ms"], row["median_ms"] = min(t) * 1e3, statistics.median(t) * 1e3
        row["vs_cython_best"] = min(t) / base if base else None
        if ref is not None and outs is not None:
            errs = [
                float(np.max(np.abs(np.asarray(o, np.float64) - r)) / (np.max(np.abs(r)) or 1))
                for o, r in zip(outs, ref)
                if np.asarray(r).dtype.kind == "f" and np.asarray(r).size
            ]
            row["rel_err"] = max(errs) if errs else 0.0
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| model | configuration | opencl nodes | ms (best/median) | / cython best "
        "| error vs cython fp32 | launches (in half) | create s |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['config']} | {r['error']} | | | | | |")
            continue
        ratio = f"{r['vs_cython_best']:.2f}" if r.get("vs_cython_best") else "-"
        err = f"{r['rel_err']:.1e}" if "rel_err" in r and r["config"] != "cython" else "-"
        lines.append(
            f"| {r['model']} | {r['config']} | {r['share']:.0%} | "
            f"{r['best_ms']:.2f} / {r['median_ms']:.2f} | {ratio} | {err} | "
            f"{r['launches']} ({r['half_launches']}) | {r['create_s']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--models",
        help=f"comma-separated (default: every benchmark model); {CHAIN}: an element-wise chain",
    )
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = p.parse_args()
    names = args.models.split(",") if args.models else bench_models.all_model_names()
    print("configurations:", ", ".join(label for label, _, _ in configurations()), flush=True)
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for name in names:
        got = bench(name, args.runs)
        rows += got
        print("\n".join(table(got).splitlines()[2:]), flush=True)
    print()
    print(table(rows))
    for r in rows:
        if "kernel_best_ms" in r:
            print(
                f"{r['model']} {r['config']}: launches alone (no copies) "
                f"{r['kernel_best_ms']:.3f} / {r['kernel_median_ms']:.3f} ms best / median"
            )
    report_end(rows, load_start, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
