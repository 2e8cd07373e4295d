"""Segment coverage A/B in one process: a model's session with this tree's segments against one
recorded as the start of session 18 did (no shape constants: segments.shape_constants empty; Resize
not recorded), the two interleaved turn by turn (order alternating), wall and thread-CPU time
(the CPU time is what a shared machine's load disturbs least at 1 thread). With --sibling both
optimise the .onnx here (-O3; the start without sibling_conv_fusion) instead of loading O3.gsm.

    .venv/bin/python benchmarks/segment_coverage_ab.py --model nudenet_320n_yolov8n --threads 1

Models come from the side-by-side cache (~/.cache/gossamer/bench/<name>-*/O3.gsm, feeds.npz).
Not a test: nothing is asserted but equal outputs."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from gossamer.cython_kernels import segments

import gossamer

BENCH = Path.home() / ".cache" / "gossamer" / "bench"


def _coverage(session: gossamer.Session) -> tuple[int, int]:
    """(nodes inside segments, segments) of the session's last-run program."""
    program = session._program
    if program.shape_arenas is not None:
        (program,) = [v for v in program.shape_arenas.variants.values() if v is not None][-1:]
    segs = [seg for _, _, seg, _ in program.schedule or () if seg is not None]
    return sum(len(s) for s in segs), len(segs)


def _graphs(folder: Path, sibling: bool) -> tuple[Any, Any]:
    """(this, start): the O3.gsm path twice, or the .onnx optimised with and without the pass."""
    if not sibling:
        return str(folder / "O3.gsm"), str(folder / "O3.gsm")
    from gossamer.converter.onnx_import import graph_from_onnx
    from gossamer.converter.optimizer import optimize

    (onnx,) = folder.glob("*.onnx")
    graph = graph_from_onnx(str(onnx))
    this, report = optimize(graph, 3)
    names = [p.name for p in report.passes if p.name != "sibling_conv_fusion"]
    start, _ = optimize(graph, 3, passes=names)
    return this, start


def _sessions(
    models: tuple[Any, Any], feeds: dict[str, Any], threads: int
) -> dict[str, gossamer.Session]:
    level = 0 if not isinstance(models[0], str) else 3  # (a graph optimised here)
    this = gossamer.load(models[0], backends=["cython"], threads=threads, optimize=level)
    for _ in range(4):
        this.run(None, feeds)
    shape_constants, before = segments.shape_constants, segments.Recorder.before

    def no_resize(self: Any, index: int, node: Any, impl: Any) -> None:
        if node.op_type not in ("Resize", "Upsample"):
            before(self, index, node, impl)

    segments.shape_constants = lambda *args: (set(), set())  # type: ignore[assignment]
    segments.Recorder.before = no_resize  # type: ignore[method-assign]
    try:
        start = gossamer.load(models[1], backends=["cython"], threads=threads, optimize=level)
        for _ in range(4):  # recorded on the second run
            start.run(None, feeds)
    finally:
        segments.shape_constants, segments.Recorder.before = shape_constants, before
    return {"this": this, "start": start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="nudenet_320n_yolov8n")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--turns", type=int, default=30)
    ap.add_argument("--per-turn", type=int, default=3)
    ap.add_argument("--sibling", action="store_true", help="also sibling_conv_fusion (see above)")
    args = ap.parse_args()
    (folder,) = sorted(BENCH.glob(f"{args.model}-*"))[:1]
    feeds = dict(np.load(folder / "feeds.npz"))
    sessions = _sessions(_graphs(folder, args.sibling), feeds, args.threads)
    outs = {k: s.run(None, feeds) for k, s in sessions.items()}
    assert all(a.tobytes() == b.tobytes() for a, b in zip(outs["this"], outs["start"]))
    wall: dict[str, list[float]] = {k: [] for k in sessions}
    cpu: dict[str, list[float]] = {k: [] for k in sessions}
    load = os.getloadavg()[0]
    order = list(sessions)
    for turn in range(args.turns):
        for k in order if turn % 2 == 0 else order[::-1]:
            for _ in range(args.per_turn):
                t, c = time.perf_counter(), time.thread_time()
                sessions[k].run(None, feeds)
                cpu[k].append(time.thread_time() - c)
                wall[k].append(time.perf_counter() - t)
    print(f"{args.model}, {args.threads} thread(s), load {load:.2f} -> {os.getloadavg()[0]:.2f}")
    for k, s in sessions.items():
        nodes, segs = _coverage(s)
        w, c = wall[k], cpu[k]
        print(f"  {k:>5}: {nodes} nodes in {segs} segment(s); wall median "
              f"{statistics.median(w) * 1e3:.2f} min {min(w) * 1e3:.2f} ms; thread CPU "
              f"median {statistics.median(c) * 1e3:.2f} min {min(c) * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
