"""Per-node dispatch cost of the cython backend: a chain of N small nodes (alternating Relu and
Add of a constant on a 16-element tensor), run node by node (GOSSAMER_SEGMENTS=0 semantics:
segments switched off on the program) and as one segment (cython_kernels/segments.py).

    .venv/bin/python benchmarks/dispatch_cost.py [--nodes 200] [--size 16] [--threads 1]

Prints the median time per run and per node for both ways; the difference between a chain and a
chain of twice the length isolates the per-node cost from the per-run cost.

    .venv/bin/python benchmarks/dispatch_cost.py --models all [--threads 1,2] [--repeat 500]

End to end on the cached real models (~/.cache/gossamer/models; symbolic input dims take the
shapes bench_models.py / tflite_vs_litert.py feed): per model and thread count, the median
Session.run time with segments off and on (wall and this thread's CPU time: the CPU time is
what the shared machine's load disturbs least), the part of it that is Session.run's own work
(Session.run minus the Program's run), the nodes inside segments, and why the others are not.
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
from gossamer.cython_kernels import segments
from gossamer.plugins.run_context import using_memory_budget, using_threads
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MODELS = Path.home() / ".cache" / "gossamer" / "models"
REAL = ["mww_okay_nabu_int8.tflite", "silero_vad_v6_16k_sequence.onnx", "mtcnn_pnet.onnx",
        "mtcnn_rnet.onnx", "mtcnn_onet.onnx", "ppocr_mobile_v2_cls.onnx",
        "oww_melspectrogram.tflite", "oww_embedding.tflite",
        "mp_face_detection_short_range.tflite", "mp_hand_landmark_lite.tflite"]  # fmt: skip


def chain(nodes: int, size: int) -> Graph:
    """x -> Relu -> Add(c) -> Relu -> ... -> y (nodes nodes)."""
    c = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    body: list[Node] = []
    prev = "x"
    for i in range(nodes):
        out = "y" if i == nodes - 1 else f"t{i}"
        if i % 2:
            body.append(Node("Add", [prev, "c"], [out], name=f"add{i}"))
        else:
            body.append(Node("Relu", [prev], [out], name=f"relu{i}"))
        prev = out
    return Graph(
        body,
        [Value("x", "float32", (size,))],
        [Value("y", "float32", (size,))],
        initializers={"c": c},
        name=f"chain{nodes}",
        opsets={"": 17},
    )


def median_run(session: gossamer.Session, feeds: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(nodes: int, size: int, threads: int, repeat: int) -> dict[str, float]:
    x = np.linspace(-2.0, 2.0, size, dtype=np.float32)
    out = {}
    for mode in ("node by node", "segment"):
        s = gossamer.load(chain(nodes, size), backends=["cython"], threads=threads, optimize=0)
        if mode == "node by node":
            s._program.use_segments = False  # segments off for this program only
        for _ in range(5):
            s.run(None, {"x": x})
        schedule = s._program.schedule
        if mode == "segment":
            assert schedule and any(seg for _, _, seg, _ in schedule), "no segment was built"
        out[mode] = median_run(s, {"x": x}, repeat)
    return out


def _shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    """Feed shapes for inputs with symbolic dims, as the side-by-side benchmarks use them."""
    from bench_models import REAL_SHAPES
    from tflite_vs_litert import SHAPES

    shapes = {f"{k}.onnx": v for k, v in REAL_SHAPES.items()}
    shapes.update({f"{k}.tflite": {"*": v} for k, v in SHAPES.items()})
    return shapes


def _feeds(session: gossamer.Session, shapes: dict[str, tuple[int, ...]]) -> dict:
    rng = np.random.default_rng(0)
    feeds = {}
    for v in session.get_inputs():
        shape = shapes.get(v.name, shapes.get("*")) or [d if isinstance(d, int) else 1
                                                         for d in v.shape]  # fmt: skip
        dt = np.dtype(v.dtype)
        feeds[v.name] = (rng.integers(-100, 100, shape) if dt.kind in "iu"
                         else rng.standard_normal(shape)).astype(dt)  # fmt: skip
    return feeds


def _timed(fn: Any, repeat: int) -> tuple[float, float]:
    """Median wall and median thread-CPU seconds of fn()."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    return statistics.median(wall), statistics.median(cpu)


def _program_of(session: gossamer.Session) -> Any:
    """The Program that ran last: the session's, or its arena for the feeds' shapes."""
    program = session._program
    if getattr(program, "shape_arenas", None) is not None:
        found = [v for v in program.shape_arenas.variants.values() if v is not None]
        return found[-1] if found else program
    return program


def measure_model(path: Path, threads: int, repeat: int, shapes: dict) -> dict[str, Any]:
    """Segments off (GOSSAMER_SEGMENTS=0 while it runs) and on. Runs on an older checkout too
    (PYTHONPATH=its package): what it lacks (split_reasons, arenas per shape) is left out."""
    out: dict[str, Any] = {}
    for mode in ("node by node", "segments"):
        os.environ["GOSSAMER_SEGMENTS"] = "1" if mode == "segments" else "0"
        s = gossamer.load(str(path), backends=["cython"], threads=threads)
        feeds = _feeds(s, shapes)
        for _ in range(20):
            s.run(None, feeds)
        out[mode] = _timed(lambda s=s, f=feeds: s.run(None, f), repeat)
        if mode == "segments":
            program = _program_of(s)
            checked = {**s._check_feeds(feeds), **s._state_feeds()}
            with using_threads(threads), using_memory_budget(s.max_memory):
                inner = _timed(lambda s=s, f=checked: s._program.run(f), repeat)
            out["session overhead"] = (out[mode][0] - inner[0], out[mode][1] - inner[1])
            covered = sum(seg.stop - seg.start for _, _, seg, _ in program.schedule or () if seg)
            out["covered"] = (covered, len(program.nodes))
            reasons = getattr(segments, "split_reasons", lambda p: {})
            out["splits"] = reasons(program)
    os.environ.pop("GOSSAMER_SEGMENTS", None)
    return out


def models_main(names: list[str], threads: list[int], repeat: int) -> None:
    shapes = _shapes()
    print(f"{'model':<40}{'thr':>4}{'off wall':>10}{'on wall':>10}{'off cpu':>10}{'on cpu':>10}"
          f"{'run ovh':>9}{'in seg':>9}   (us, medians)")  # fmt: skip
    splits = {}
    for name in names:
        path = MODELS / name
        if not path.exists():
            print(f"{name:<40} not in {MODELS}")
            continue
        for t in threads:
            r = measure_model(path, t, repeat, shapes.get(name, {}))
            (ow, oc), (nw, nc) = r["node by node"], r["segments"]
            covered, total = r["covered"]
            print(f"{name:<40}{t:>4}{ow * 1e6:>10.1f}{nw * 1e6:>10.1f}{oc * 1e6:>10.1f}"
                  f"{nc * 1e6:>10.1f}{r['session overhead'][1] * 1e6:>9.1f}"
                  f"{f'{covered}/{total}':>9}", flush=True)  # fmt: skip
            splits[name] = r["splits"]
    for name, reasons in splits.items():
        if reasons:
            print(f"\n{name}: outside segments")
            for node, why in reasons.items():
                print(f"    {node}: {why}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--threads", default="1", help="thread counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--models", help="'all' or comma-separated model files: end to end instead")
    args = ap.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    if args.models:
        names = REAL if args.models == "all" else args.models.split(",")
        models_main(names, counts, args.repeat)
        return
    args.threads = counts[0]
    short = measure(args.nodes, args.size, args.threads, args.repeat)
    long = measure(2 * args.nodes, args.size, args.threads, args.repeat)
    print(f"chain of Relu/Add on float32[{args.size}], threads={args.threads}")
    print(f"{'mode':<14}{'N run us':>10}{'2N run us':>11}{'us/node':>9}{'marginal us/node':>18}")
    for mode in short:
        a, b = short[mode] * 1e6, long[mode] * 1e6
        print(f"{mode:<14}{a:>10.1f}{b:>11.1f}{a / args.nodes:>9.3f}"
              f"{(b - a) / args.nodes:>18.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
