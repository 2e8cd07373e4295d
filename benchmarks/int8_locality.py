"""Whether an int8 model's chunks run slower when two threads share its pool calls: the thread
pool's trace of ordinary runs (segment replay included), each run's chunk work summed (every
chunk's own duration, whichever thread ran it). Per run: wall time, time in pool calls, summed
chunk work, the calling thread's share of the chunks; the table gives the minimum and median over
--reps runs (and the 10th percentile, steadier than either on a loaded machine). Run it under
`taskset -c 0` too: the worker still takes part in the chunking but shares the caller's CPU, so
every chunk reads data its own core wrote. --ab alternates the int8 conv's thread split run by
run in one process (ext.qsplit_mode, src/qconv_split.h: 0 the pool's dynamic chunks, 1 one static
part of the pixels per thread in the packer and the depthwise kernel, so a thread reads what it
wrote, 2 the 8-bit GEMM's pixel panels too, 3 and the int8 element-wise ops' pixels of every
plane; --modes picks them, each "MODE" or "MODE:PIECES" with ext.qsplit_pieces, the pieces per
thread's part that the other thread may take from its back). Per call, the work is kept only
where both threads shared the call (30-70 % of its chunks each).

Unlike benchmarks/int8_pool_model.py (the minimum of each chunk over the runs), the sums keep
the cost that depends on which thread ran a chunk: a chunk that reads data written by the other
core is slower only in the runs where the other core wrote it, and a minimum per chunk drops it.

    .venv/bin/python benchmarks/int8_locality.py --model mobilenet_v2 --reps 40 --ab
    taskset -c 0 .venv/bin/python benchmarks/int8_locality.py --model mobilenet_v2 --reps 40

Not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import int8_kernels as ik  # noqa: E402
from pool_trace import chunk_us, traced_events  # noqa: E402


def _median(values: list[float]) -> float:
    kept = [v for v in values if v == v]
    return statistics.median(kept) if kept else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2", choices=list(ik.MODELS))
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", default="", help="a Gossamer tree to import instead")
    ap.add_argument("--json", default="", help="write the per-call medians here")
    ap.add_argument(
        "--ab",
        action="store_true",
        help="alternate the conv's split (ext.qsplit_mode, --modes) run by run",
    )
    ap.add_argument(
        "--modes", default="0,1,2,3",
        help="the qsplit modes --ab alternates, each MODE or MODE:PIECES (ext.qsplit_pieces)",
    )  # fmt: skip
    ap.add_argument(
        "--qew-px-min", type=int, default=-1,
        help="ext.qew_px_min: from how many elements mode 3 splits element-wise ops",
    )  # fmt: skip
    args = ap.parse_args()
    sess, feeds = ik.warm_cython_int8(args.model, args.threads, args.baseline)
    from gossamer.cython_kernels._native import ext

    if args.qew_px_min >= 0:
        ext().qew_px_min(args.qew_px_min)
    ab = args.ab and hasattr(ext(), "qsplit_mode")
    modes: list[str | None] = list(args.modes.split(",")) if ab else [None]
    has_pieces = hasattr(ext(), "qsplit_pieces")  # a --baseline tree may predate it
    mode0 = (ext().qsplit_mode(), ext().qsplit_pieces() if has_pieces else 1) if ab else None
    load0 = open("/proc/loadavg").read().split()[0]
    rows: dict[object, dict[str, list[float]]] = {m: collections.defaultdict(list) for m in modes}
    per_call: dict[object, list[list[float]]] = {m: [] for m in modes}
    cpus = len(os.sched_getaffinity(0))
    for rep in range(args.reps):
        for mode in modes[rep % len(modes) :] + modes[: rep % len(modes)]:
            if mode is not None:
                m, _, pieces = mode.partition(":")
                ext().qsplit_mode(int(m))
                if has_pieces:
                    ext().qsplit_pieces(int(pieces) if pieces else mode0[1])
                elif pieces not in ("", "1"):
                    sys.exit(f"{mode}: this tree has no ext.qsplit_pieces")
                sess.run(None, feeds)
            t0, t1, events = traced_events(sess, feeds)
            top = [e for e in events if e["alone"] != 1]
            chunks = [chunk_us(e) for e in top]
            r = rows[mode]
            r["wall us"].append((t1 - t0) / 1e3)
            r["in pool calls us"].append(sum(e["end"] - e["start"] for e in top) / 1e3)
            r["chunk work us"].append(sum(float(c.sum()) for c in chunks))
            r["caller's chunks %"].append(
                100 * sum(e["mine"] for e in top) / max(1, sum(e["chunks"] for e in top))
            )
            calls = per_call[mode]
            if calls and len(calls) != len(chunks):
                sys.exit("the pool calls differ between runs: not comparable")
            if not calls:
                calls.extend([] for _ in chunks)
            for acc, c, e in zip(calls, chunks, top):
                # the call's work where both threads shared it (else nan): a call whose chunks
                # all ran on one thread read only what that thread wrote
                shared = e["threads"] > 1 and 0.3 <= e["mine"] / max(1, e["chunks"]) <= 0.7
                acc.append(float(c.sum()) if shared or cpus == 1 else float("nan"))
    if mode0 is not None:
        ext().qsplit_mode(mode0[0])
        if has_pieces:
            ext().qsplit_pieces(mode0[1])
    load1 = open("/proc/loadavg").read().split()[0]
    print(f"{args.model} ({args.baseline or 'this tree'}), {args.threads} threads on {cpus} CPUs, "
          f"{args.reps} runs per mode, load {load0} -> {load1}")  # fmt: skip
    for mode in modes:
        label = "" if mode is None else f"qsplit_mode {mode}: "
        for key, v in rows[mode].items():
            p10 = statistics.quantiles(v, n=10)[0] if len(v) > 1 else v[0]
            print(f"  {label}{key:18s} min {min(v):8.1f}  p10 {p10:8.1f}  "
                  f"median {statistics.median(v):8.1f}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(
            {str(m): {"cpus": cpus, **rows[m], "calls": [_median(c) for c in per_call[m]],
                "calls_min": [min((v for v in c if v == v), default=float("nan"))
                              for c in per_call[m]]}
             for m in modes}))  # fmt: skip


if __name__ == "__main__":
    main()
