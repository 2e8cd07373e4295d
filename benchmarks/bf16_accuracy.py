"""Accuracy of precision="bf16" (cython-bf16: bfloat16 products, float32 accumulation) against the
same model in fp32, on the benchmark models and the shared real ONNX models
(~/.cache/gossamer/bench/*/ with spec.json and feeds.npz).

    .venv/bin/python benchmarks/bf16_accuracy.py [--models resnet18,...] [--draws 8] [--no-amx]

Where the CPU has AVX512_BF16 the kernels run natively: on AMX tiles (tdpbf16ps) where the CPU has
AMX-BF16, unless --no-amx (or GOSSAMER_AMX=off) keeps vdpbf16ps. On a CPU without AVX512_BF16 they
run through their bit-exact emulation (GOSSAMER_BF16=emulate, set here unless the environment says
otherwise): the numbers are those vdpbf16ps gives, but the times are not (the emulation is slower
than fp32). No speed is reported here either way (benchmarks/bf16_speed.py measures it).

Per model and output, over the stored feeds plus `--draws - 1` seeded random feeds (the
stored ones' shapes, standard normal floats, the stored integers): cosine of the bf16 output to the
fp32 one (worst over the draws), max |bf16 - fp32|, that over max |fp32| (relative to the
output's range), and for classifier logits the share of draws whose top-1 class agrees (for
ppocrv4_rec the share of time steps whose argmax agrees: what a CTC greedy decode reads).
Results go to benchmarks/results/bf16_accuracy.md and .json (--out names others).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = Path.home() / ".cache" / "gossamer" / "bench"
RESULTS = REPO / "benchmarks" / "results"
# models whose first output is class logits (top-1 agreement applies)
CLASSIFIERS = {"resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "ppocr_mobile_v2_cls"}
# models whose first output is per-step class scores (N, T, C): argmax agreement per step (what
# a CTC greedy decode reads)
SEQUENCES = {"ppocrv4_rec"}


def specs(names: set[str] | None) -> list[dict]:
    found = []
    for spec_file in sorted(BENCH.glob("*/spec.json")):
        spec = json.loads(spec_file.read_text())
        if spec.get("onnx") and (names is None or spec["name"] in names):
            found.append(spec)
    return found


def draws(stored: dict[str, np.ndarray], count: int) -> list[dict[str, np.ndarray]]:
    """The stored feeds, then seeded random ones of the same shapes (integers kept)."""
    rng = np.random.default_rng(0)
    out = [stored]
    for _ in range(count - 1):
        feed = {}
        for name, value in stored.items():
            if value.dtype.kind == "f":
                feed[name] = rng.standard_normal(value.shape).astype(value.dtype)
            else:
                feed[name] = value
        out.append(feed)
    return out


def compare(fp32: np.ndarray, bf16: np.ndarray) -> dict[str, float]:
    a, b = fp32.astype(np.float64).ravel(), bf16.astype(np.float64).ravel()
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    cosine = float(a @ b / denom) if denom > 0 else float(np.array_equal(a, b))
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    return {"cosine": cosine, "max_abs": err, "max_rel_range": err / scale if scale else 0.0}


def evaluate(spec: dict, count: int) -> dict:
    import gossamer

    stored = dict(np.load(spec["feeds"]))
    fp32 = gossamer.load(spec["onnx"])
    bf16 = gossamer.load(spec["onnx"], precision="bf16")
    placed = list(bf16.placement.backend_of.values())
    row: dict = {
        "model": spec["name"],
        "bf16_nodes": placed.count("cython-bf16"),
        "nodes": len(placed),
        "outputs": {},
    }
    agree, seconds = [], 0.0
    for feed in draws(stored, count):
        want = fp32.run(None, feed)
        start = time.perf_counter()
        got = bf16.run(None, feed)
        seconds += time.perf_counter() - start
        for spec_out, w, g in zip(bf16.outputs, want, got):
            if not (isinstance(w, np.ndarray) and w.dtype.kind == "f"):
                continue
            stats = compare(w, g)
            worst = row["outputs"].setdefault(spec_out.name, stats)
            worst["cosine"] = min(worst["cosine"], stats["cosine"])
            worst["max_abs"] = max(worst["max_abs"], stats["max_abs"])
            worst["max_rel_range"] = max(worst["max_rel_range"], stats["max_rel_range"])
        if spec["name"] in CLASSIFIERS | SEQUENCES:
            classes = want[0].shape[-1] if spec["name"] in SEQUENCES else None
            w0 = want[0].reshape(-1, classes or int(np.prod(want[0].shape[1:])))
            g0 = got[0].reshape(w0.shape)
            agree.extend((w0.argmax(axis=1) == g0.argmax(axis=1)).tolist())
    row["top1_agreement"] = float(np.mean(agree)) if agree else None
    row["draws"] = count
    row["bf16_seconds_per_run"] = seconds / count
    return row


def markdown(rows: list[dict], impl: str, load: str, emulated: bool) -> str:
    speed = (
        "Speed is not measured: this machine has no AVX512_BF16, so the bf16 kernels ran through "
        "their bit-exact emulation (slower than fp32; its time says nothing about vdpbf16ps). "
        if emulated
        else "Speed is not measured here (benchmarks/bf16_speed.py does). "
    )
    lines = [
        '# precision="bf16" vs fp32: accuracy',
        "",
        "`benchmarks/bf16_accuracy.py` (cython-bf16: operands rounded to bfloat16, products "
        "accumulated in float32; everything it declines runs in fp32). "
        f"Pair step used: **{impl}**. Per output the worst draw: cosine to fp32, max |bf16 - fp32|,"
        " and that over max |fp32|; top-1: share of draws (stored feed + seeded random ones) "
        "whose class agrees.",
        "",
        f"{speed}Load during the run: {load}.",
        "",
        "| model | nodes on cython-bf16 | output | cosine (min) | max abs err | max err / max abs "
        "| top-1 agreement |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        top1 = "-" if r["top1_agreement"] is None else f"{100 * r['top1_agreement']:.0f} %"
        placed = f"{r['bf16_nodes']} / {r['nodes']}"
        for i, (name, s) in enumerate(r["outputs"].items()):
            model, nodes, agree = (r["model"], placed, top1) if i == 0 else ("", "", "")
            lines.append(
                f"| {model} | {nodes} | {name} | {s['cosine']:.6f} | {s['max_abs']:.3g} "
                f"| {s['max_rel_range']:.2e} | {agree} |"
            )
    lines += [
        "",
        "Top-1 for ppocrv4_rec: share of time steps (all draws) whose argmax agrees, what its CTC "
        "greedy decode reads. Nodes on cython-bf16 are the Conv/FusedConv/Gemm/MatMul nodes "
        "(depthwise convs, LSTM and everything else stay fp32: lstm has none). Inputs are the "
        "stored feeds and standard normal draws, not real data.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", help="comma-separated model names (default: all)")
    p.add_argument("--draws", type=int, default=8, help="feeds per model (default 8)")
    p.add_argument("--no-amx", action="store_true", help="vdpbf16ps even where AMX-BF16 is")
    p.add_argument("--out", default="bf16_accuracy", help="results/<out>.md and .json")
    args = p.parse_args()
    from gossamer.cython_kernels._native import ext

    if not ext().bf16_cpu_native():
        os.environ.setdefault("GOSSAMER_BF16", "emulate")
    if args.no_amx:
        ext().bf16_set_amx(False)
    from gossamer.cython_kernels.bf16_mode import select_bf16_impl

    impl = select_bf16_impl()
    if impl == "none":
        print("cython-bf16 cannot run here (GOSSAMER_BF16?)", file=sys.stderr)
        return 2
    names = set(args.models.split(",")) if args.models else None
    rows = []
    for spec in specs(names):
        row = evaluate(spec, args.draws)
        print(json.dumps(row), flush=True)
        rows.append(row)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    if impl == "native":
        impl_text = "AMX tdpbf16ps" if ext().bf16_amx_enabled() else "vdpbf16ps"
    else:
        impl_text = "the emulation (GOSSAMER_BF16=emulate)"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (RESULTS / f"{args.out}.md").write_text(markdown(rows, impl_text, load, impl != "native"))
    print(f"wrote {RESULTS / args.out}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
