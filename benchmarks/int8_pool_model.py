"""A load-robust model of an int8 model's 2-thread time on the cython backend: the thread pool's
trace of ordinary runs (segment replay included), each pool call's chunks at their minimum
duration over --reps runs (the least disturbed by other processes), handed out in index order to
2 seats whichever is free first (as the pool claims them). Prints the chunk work, the modelled
time of the pool calls, the loss to uneven chunks (model - work / 2) and the time outside pool
calls (minimum over the runs).

    .venv/bin/python benchmarks/int8_pool_model.py --model mobilenet_v2 --reps 30
    .venv/bin/python benchmarks/int8_pool_model.py --model minilm --baseline /tmp/other_tree

--baseline runs another Gossamer tree's code instead (compare by alternating processes). Not a
test: nothing is asserted."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import int8_kernels as ik  # noqa: E402
from pool_balance import makespan  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mobilenet_v2", choices=list(ik.MODELS))
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", default="", help="a Gossamer tree to import instead")
    ap.add_argument("--calls", action="store_true", help="one line per pool call")
    args = ap.parse_args()
    sess, feeds = ik.warm_cython_int8(args.model, args.threads, args.baseline)
    from gossamer.cython_kernels._native import ext

    names = ext().POOL_TRACE_FIELDS
    load0 = open("/proc/loadavg").read().split()[0]
    calls: list[np.ndarray] | None = None
    outside = []
    for _ in range(args.reps):
        ext().pool_trace(True)
        t0 = time.monotonic_ns()
        sess.run(None, feeds)
        t1 = time.monotonic_ns()
        events = [dict(zip(names, e, strict=True)) for e in ext().pool_trace(False)]
        top = [e for e in events if e["alone"] != 1]  # nested calls are inside their chunk
        chunks = [ext().pool_trace_chunks(e["first"], e["chunks"]).astype(np.float64) / 1e3
                  for e in top]  # fmt: skip
        outside.append((t1 - t0) / 1e3 - sum(e["end"] - e["start"] for e in top) / 1e3)
        if calls is not None and [len(c) for c in calls] != [len(c) for c in chunks]:
            sys.exit("the pool calls differ between runs: not comparable")
        calls = chunks if calls is None else [np.minimum(a, b) for a, b in zip(calls, chunks)]
    load1 = open("/proc/loadavg").read().split()[0]
    assert calls is not None
    work = sum(float(c.sum()) for c in calls)
    model = sum(makespan(c, args.threads) for c in calls)
    print(f"{args.model} ({args.baseline or 'this tree'}), {args.threads} seats, minimum per chunk "
          f"over {args.reps} runs, load {load0} -> {load1}")  # fmt: skip
    print(f"chunk work {work:.0f} us, modelled pool calls {model:.0f} us, loss to uneven chunks "
          f"{model - work / args.threads:.0f} us, outside pool calls {min(outside):.0f} us, "
          f"{len(calls)} calls, {sum(len(c) for c in calls)} chunks")  # fmt: skip
    if args.calls:
        for i, c in enumerate(calls):
            print(f"{i:4d} chunks {len(c):3d} work {c.sum():8.1f} model "
                  f"{makespan(c, args.threads):8.1f} largest {c.max():7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
