"""Speed of precision="bf16" against our fp32 and OpenVINO, with and without its f32 hint (OpenVINO
runs bf16 by default on a CPU with AVX512_BF16 / AMX; side_by_side.py pins it to f32).

    .venv/bin/python benchmarks/bf16_speed.py [--models mobilenet_v2,resnet18,minilm]
        [--threads 1,2] [--rounds 5] [--reps 20] [--engines ...]

Engines (all in this one process, interleaved: every round runs each engine `--reps` times, in
turn, and the figure is the median over all rounds of the per-run times):
  fp32      gossamer, the -O3 .gsm, default backends
  fp32-nchw the same with GOSSAMER_BLOCKED_LAYOUT=0 at load (no NCHWc chains, as with bf16;
            only with --engines)
  bf16      gossamer, the same .gsm with precision="bf16" (AMX tdpbf16ps where gk_amx_bf16())
  bf16-nchw the same .gsm with precision="bf16" loaded with GOSSAMER_BLOCKED_LAYOUT=0: no NCHWc
            chain for the float32 depthwise convs and stems (bf16 as before they were planned;
            only with --engines)
  bf16-vdp  the same session with the AMX path switched off (bf16_set_amx(False)): vdpbf16ps
  bf16-im2col the same session with the direct AMX conv off (bf16_conv.DIRECT = False): every
            conv through im2col, as before the direct conv (only with --engines)
  bf16-nofold the same .gsm with precision="bf16" loaded with bf16_conv.FOLD_STEMS = False (stems
            left to fp32) and run with REUSE_PLANES = False (a fresh pair-plane buffer per
            direct conv): bf16 as before the stem fold (only with --engines)
  bf16-unfused the same session run with bf16_conv_set_fused(False): the direct conv's tiles
            through a tile buffer, a copy of the valid columns and a separate epilogue pass, as
            before its tiles stored the output themselves (the same bits; only with --engines)
  bf16-nohandoff the same .gsm with precision="bf16" loaded with GOSSAMER_BF16_HANDOFF=0: no
            FusedConvPair (converter/optimizer/bf16_handoff.py), every conv through float32
            (only with --engines)
  bf16-blocked64 the same .gsm with precision="bf16" loaded with bf16_conv.BLOCKED_1X1_AMX = False:
            only the 1x1s of <= 64 channels join the blocked chains, on the float32 kernel (bf16
            as before the blocked AMX 1x1, bf16_nchwc_conv.py; only with --engines)
  bf16-nopix the same .gsm with precision="bf16" loaded with GOSSAMER_BF16_PIX=0: no pixel-block
            chain (cython_kernels/bf16_pix_chain.py), the convs one node each on float32 NCHW
            tensors (only with --engines)
  bf16-nosplit the same .gsm with precision="bf16" loaded with GOSSAMER_BF16_PIX_SPLIT=0: a
            chain's conv writes its form where only strided convs read it, and they split it
            (the same bits; only with --engines)
  bf16-nostem the same .gsm with precision="bf16" loaded with GOSSAMER_BF16_PIX_STEM=0: the stem
            and the MaxPool stay nodes of their own before the chain (the folded stem to
            float32, the float32 pool, the chain's reorder in; the same bits; only with
            --engines)
  ov-bf16   OpenVINO CPU, PERFORMANCE_HINT=LATENCY, no precision hint (its default)
  ov-f32    OpenVINO CPU, the same with INFERENCE_PRECISION_HINT=f32
The load (`os.getloadavg`) is printed before and after; the machine is shared, so compare only
figures of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

BENCH = Path.home() / ".cache" / "gossamer" / "bench"
ENGINES = ("fp32", "bf16", "bf16-vdp", "ov-bf16", "ov-f32")
# on request (--engines): see above
EXTRA = (
    "fp32-nchw",
    "bf16-nchw",
    "bf16-im2col",
    "bf16-nofold",
    "bf16-unfused",
    "bf16-nohandoff",
    "bf16-blocked64",
    "bf16-nopix",
    "bf16-nosplit",
    "bf16-nostem",
)


def spec_of(name: str) -> dict:
    for spec_file in sorted(BENCH.glob(f"{name}-*/spec.json")):
        return json.loads(spec_file.read_text())
    raise SystemExit(f"no benchmark model {name!r} under {BENCH}")


def feeds_of(spec: dict) -> dict[str, np.ndarray]:
    with np.load(spec["feeds"]) as z:
        return {k: z[k] for k in z.files}


def set_amx(on: bool) -> None:
    from gossamer.cython_kernels._native import ext

    ext().bf16_set_amx(on)


def gossamer_engine(spec: dict, feeds: dict, threads: int, engine: str) -> Callable[[], object]:
    import gossamer

    kw = {"precision": "bf16"} if engine.startswith("bf16") else {}
    before = os.environ.get("GOSSAMER_BLOCKED_LAYOUT")
    if engine in ("fp32-nchw", "bf16-nchw"):
        os.environ["GOSSAMER_BLOCKED_LAYOUT"] = "0"
    if engine == "bf16-nohandoff":
        os.environ["GOSSAMER_BF16_HANDOFF"] = "0"
    if engine == "bf16-nopix":
        os.environ["GOSSAMER_BF16_PIX"] = "0"
    if engine == "bf16-nosplit":
        os.environ["GOSSAMER_BF16_PIX_SPLIT"] = "0"
    if engine == "bf16-nostem":
        os.environ["GOSSAMER_BF16_PIX_STEM"] = "0"
    from gossamer.cython_kernels import bf16_conv

    bf16_conv.FOLD_STEMS = engine != "bf16-nofold"
    bf16_conv.BLOCKED_1X1_AMX = engine != "bf16-blocked64"
    try:
        sess = gossamer.load(spec["gsm"] or spec["onnx"], threads=threads, **kw)
    finally:
        bf16_conv.FOLD_STEMS = True
        bf16_conv.BLOCKED_1X1_AMX = True
        os.environ.pop("GOSSAMER_BF16_HANDOFF", None)
        os.environ.pop("GOSSAMER_BF16_PIX", None)
        os.environ.pop("GOSSAMER_BF16_PIX_SPLIT", None)
        os.environ.pop("GOSSAMER_BF16_PIX_STEM", None)
        if before is None:
            os.environ.pop("GOSSAMER_BLOCKED_LAYOUT", None)
        else:
            os.environ["GOSSAMER_BLOCKED_LAYOUT"] = before
    if engine.startswith("bf16") and sess.precision != "bf16":
        raise RuntimeError(f"bf16 not given: {sess.precision_note}")
    if engine == "bf16-vdp":

        def run() -> object:
            set_amx(False)
            try:
                return sess.run(None, feeds)
            finally:
                set_amx(True)

        return run
    if engine == "bf16-im2col":
        from gossamer.cython_kernels import bf16_conv

        def run_im2col() -> object:
            bf16_conv.DIRECT = False
            try:
                return sess.run(None, feeds)
            finally:
                bf16_conv.DIRECT = True

        return run_im2col
    if engine == "bf16-nofold":

        def run_nofold() -> object:
            bf16_conv.REUSE_PLANES = False
            try:
                return sess.run(None, feeds)
            finally:
                bf16_conv.REUSE_PLANES = True

        return run_nofold
    if engine == "bf16-unfused":
        from gossamer.cython_kernels._native import ext

        def run_unfused() -> object:
            ext().bf16_conv_set_fused(False)
            try:
                return sess.run(None, feeds)
            finally:
                ext().bf16_conv_set_fused(True)

        return run_unfused
    return lambda: sess.run(None, feeds)


def openvino_engine(spec: dict, feeds: dict, threads: int, engine: str) -> Callable[[], object]:
    import openvino as ov

    core = ov.Core()
    model = core.read_model(spec["onnx"])
    if spec.get("dynamic"):
        model.reshape({name: list(value.shape) for name, value in feeds.items()})
    config: dict = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if engine == "ov-f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    n_out = len(compiled.outputs)

    def run() -> object:
        request.infer(feeds)
        return [request.get_output_tensor(i).data for i in range(n_out)]

    run.precision = str(compiled.get_property("INFERENCE_PRECISION_HINT"))  # type: ignore[attr-defined]
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mobilenet_v2,resnet18,minilm")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--engines", default=",".join(ENGINES))
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    print(f"load before: {os.getloadavg()}")
    rows = []
    for name in args.models.split(","):
        spec = spec_of(name)
        feeds = feeds_of(spec)
        for threads in (int(t) for t in args.threads.split(",")):
            runs: dict[str, Callable[[], object]] = {}
            for engine in engines:
                make = openvino_engine if engine.startswith("ov") else gossamer_engine
                try:
                    runs[engine] = make(spec, feeds, threads, engine)
                    for _ in range(3):  # warm up
                        runs[engine]()
                except Exception as exc:  # noqa: BLE001 - report and go on with the others
                    print(f"{name} t={threads} {engine}: {type(exc).__name__}: {exc}")
            times: dict[str, list[float]] = {e: [] for e in runs}
            for _ in range(args.rounds):
                for engine, run in runs.items():
                    for _ in range(args.reps):
                        t0 = time.perf_counter()
                        run()
                        times[engine].append(time.perf_counter() - t0)
            med = {e: statistics.median(v) * 1e3 for e, v in times.items()}
            ov = med.get("ov-bf16")
            line = "  ".join(f"{e} {ms:7.3f}" for e, ms in med.items())
            ratio = f"  bf16/ov-bf16 {med['bf16'] / ov:.2f}" if ov and "bf16" in med else ""
            print(f"{name:13s} t={threads}  {line} ms{ratio}", flush=True)
            rows.append({"model": name, "threads": threads, "median_ms": med})
    print(f"load after: {os.getloadavg()}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
