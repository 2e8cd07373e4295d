"""Per conv or matrix-product layer, one gossamer process, two or more run-time switches of the
cython backend applied in alternate runs (so every variant sees the same machine load): the layers'
minimums and the whole runs' minimum and median. For kernel rules that have an `ext()` switch
(`gemm_tune_thin`, `direct_b_on`, `gemm_tune`, ...); trees or builds are compared with ab_trees.py
instead.

    .venv/bin/python benchmarks/conv_knob_ab.py --model resnet50 --threads 1 --reps 30 \\
        --variant "old=ext().gemm_tune_thin(144)" --variant "new=ext().gemm_tune_thin(24)"

Each variant is `name=python statement` run before its runs, with `ext` in scope. With
`--session-per-variant` each variant gets its own session, loaded and warmed (its C segments
recorded) after its statement first ran: for Python-level choices that a recorded segment would
otherwise keep (which path a conv takes), e.g. "f2=import gossamer.cython_kernels.conv_kernels
as k; k.WINOGRAD = 'f2'". The layer times
come from an observer (each node run by itself, ~5 us of dispatch included); the whole runs are
timed without one. Models come from the benchmark cache (bench_models.py prepares them).
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# the layers timed one by one: convs and matrix products (MiniLM's FusedMatMul / FusedGemm)
LAYERS = (
    "Conv", "FusedConv", "NchwcConv", "NchwcConvMaxPool",
    "MatMul", "FusedMatMul", "Gemm", "FusedGemm",
)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--variant", action="append", required=True, help="name=statement")
    ap.add_argument(
        "--session-per-variant",
        action="store_true",
        help="load a session per variant after its statement (module docstring)",
    )
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        help="another node kind to time (e.g. NchwcGlobalAveragePool)",
    )
    args = ap.parse_args()

    from bf16_speed import feeds_of, spec_of
    from fp32_conv_layers import _Marks
    from gossamer.cython_kernels._native import ext

    import gossamer

    variants = [tuple(v.split("=", 1)) for v in args.variant]
    spec = spec_of(args.model)
    feeds = feeds_of(spec)

    def warm_session():  # type: ignore[no-untyped-def]
        s = gossamer.load(spec["gsm"] or spec["onnx"], threads=args.threads)
        for _ in range(3):
            s.run(None, feeds)
        return s

    sessions = {}
    if args.session_per_variant:
        for name, stmt in variants:
            exec(stmt, {"ext": ext})
            sessions[name] = warm_session()
    else:
        shared = warm_session()
        sessions = {name: shared for name, _ in variants}
    per = {n: collections.defaultdict(list) for n, _ in variants}
    whole: dict[str, list[float]] = {n: [] for n, _ in variants}
    keys = {}
    for _ in range(args.reps):
        for name, stmt in variants:
            exec(stmt, {"ext": ext})
            sess = sessions[name]
            t0 = time.perf_counter()
            sess.run(None, feeds)
            whole[name].append((time.perf_counter() - t0) * 1e3)
            marks = _Marks()
            sess.run(None, feeds, observers=[marks])
            for node, shapes, _y, us in marks.spans:
                if node.op_type in LAYERS or node.op_type in args.also:
                    per[name][node.name].append(us)
                    keys[node.name] = (
                        list(shapes[0][1:]),
                        list(shapes[1]) if len(shapes) > 1 else [],
                    )
    names = [n for n, _ in variants]
    print(f"{args.model}, {args.threads} thread(s), {args.reps} runs each, load "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    for n in names:
        print(
            f"{n}: whole run min {min(whole[n]):.2f} ms, median {statistics.median(whole[n]):.2f}"
        )
    print(f"\n| layer | x | w | {' | '.join(names)} |\n|---|---|---|{'---:|' * len(names)}")
    tot = collections.Counter()
    for layer in per[names[0]]:
        v = [min(per[n][layer]) for n in names]
        for n, x in zip(names, v):
            tot[n] += x
        print(f"| {layer} | {keys[layer][0]} | {keys[layer][1]} | "
              + " | ".join(f"{x:.0f}" for x in v) + " |")  # fmt: skip
    print("| all layers | | | " + " | ".join(f"{tot[n]:.0f}" for n in names) + " |")


if __name__ == "__main__":
    main()
