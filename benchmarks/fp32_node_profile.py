"""Per-node profile in fp32: gossamer's cython backend (node by node, an observer times each node)
against OpenVINO with INFERENCE_PRECISION_HINT f32 (its PERF_COUNT counters) and onnxruntime
(SessionOptions.enable_profiling), summed by op type, plus the slowest nodes.

    .venv/bin/python benchmarks/fp32_node_profile.py --models minilm --threads 2 --reps 20

The machine is shared: the load is printed; per-node medians hide the preemptions a whole run
takes. Gossamer's per-node times include its Python dispatch (a whole run uses C segments)."""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bf16_node_profile import (  # noqa: E402
    Profile,
    gossamer_profile,
    openvino_profile,
    report,
    whole_run_ms,
)
from bf16_speed import feeds_of, spec_of  # noqa: E402


def ort_profiling_session(onnx_path: str, threads: int, prefix: str):  # -> ort.InferenceSession
    """An onnxruntime CPU session on `threads` intra-op threads with its profiler on (trace files
    named `prefix`* in the temporary folder; `end_profiling()` gives the file)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_profiling = True
    so.profile_file_prefix = str(Path(tempfile.gettempdir()) / prefix)
    return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])


def ort_profile(spec: dict, feeds: dict, threads: int, reps: int) -> tuple[float, Profile]:
    sess = ort_profiling_session(spec["onnx"], threads, "fp32_node_profile_ort")
    whole_ms = whole_run_ms(lambda: sess.run(None, feeds), reps)
    trace = Path(sess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    per: dict[str, list[float]] = collections.defaultdict(list)
    info: dict[str, tuple[str, str]] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            name = e["name"][: -len("_kernel_time")]
            per[name].append(float(e["dur"]))
            info[name] = (e["args"].get("op_name", "?"), "")
    keep = {n: v[-reps:] for n, v in per.items()}  # the timed runs (warm-ups first)
    return whole_ms, {n: (*info[n], statistics.median(v)) for n, v in keep.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="minilm")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--engines", default="gossamer,openvino,onnxruntime")
    args = ap.parse_args()
    engines = {"gossamer": functools.partial(gossamer_profile, precision="fp32"),
               "openvino": functools.partial(openvino_profile, precision="f32"),
               "onnxruntime": ort_profile}  # fmt: skip
    print(f"load before: {os.getloadavg()}")
    for name in args.models.split(","):
        spec = spec_of(name)
        feeds = feeds_of(spec)
        print(f"\n=== {name}, {args.threads} thread(s)")
        for engine in args.engines.split(","):
            report(f"{engine} fp32", *engines[engine](spec, feeds, args.threads, args.reps),
                   args.top)  # fmt: skip
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
