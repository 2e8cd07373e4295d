"""Int8 on the cython backend against its own fp32 and against onnxruntime int8, side by side.

Models: the built-in ResNet-18, ResNet-50 and MobileNetV2 quantised by onnxruntime's
quantize_static (QOperator format, per-channel s8 weights, u8 activations, random calibration
data, after quant_pre_process folded the BatchNorms), and the built-in MiniLM encoder quantised
by quantize_dynamic. Engines: gossamer-cython on the int8 model, gossamer-cython on the fp32
model, onnxruntime on the int8 model; 1 and 2 threads. Each engine runs in its own process (no
engine's spinning workers take another's cores) and the rounds are interleaved, so the shared
machine's noise falls on every engine alike. Writes benchmarks/results/int8_kernels.md
(medians, ratios, and where Gossamer's int8 time goes, per op type, from one profiled run).

    python benchmarks/int8_kernels.py                         # everything (several minutes)
    python benchmarks/int8_kernels.py --models resnet18 --runs 5 --threads 1
    python benchmarks/int8_kernels.py --baseline /tmp/old     # + an earlier tree's int8, same run
    python benchmarks/int8_kernels.py --format qdq --openvino # QDQ models, + OpenVINO on them

Each turn an engine runs --block timed runs after one untimed run (default 5: the steady state,
as a server sees it; --block 1 times the first run after the other engines' turns, where a
sleeping thread pool's wake-up counts) and reports their median; the table gives the median of
those per-turn medians (--stat min: the fastest run of every turn, then the fastest turn: the
figure least disturbed by other processes on a shared machine).

--baseline DIR adds the engine "gossamer-int8-baseline": the int8 model on the Gossamer source tree
in DIR (e.g. `git archive <commit>` with its built extension copied in), imported in its own
process in place of this one, so that before/after ratios come from one interleaved run.
--variant SETTER=VALUE,... adds "gossamer-int8-variant": this tree's int8 in its own process with
ext.SETTER(VALUE) applied first (e.g. `--variant qsplit_pieces=1`, the int8 splits' parts run
whole), for an A/B of a run-time setting against onnxruntime in one interleaved run.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("GOSSAMER_BENCH_CACHE", Path.home() / ".cache/gossamer/bench")) / "int8"
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "minilm"]
ENGINES = ["gossamer-int8", "gossamer-fp32", "onnxruntime-int8"]


def quantised(name: str, fmt: str = "qoperator") -> tuple[Path, Path]:
    """(fp32 model, int8 model) files, built once under CACHE; `fmt` is the static models' ONNX
    format: "qoperator" (QLinearConv, com.microsoft QLinearAdd/QGemm/...) or "qdq" (float ops
    between QuantizeLinear/DequantizeLinear pairs, the format OpenVINO reads)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from gossamer import builtin_models

    CACHE.mkdir(parents=True, exist_ok=True)
    suffix = "_qdq" if fmt == "qdq" and name != "minilm" else ""
    fp32, int8 = CACHE / f"{name}.onnx", CACHE / f"{name}_int8{suffix}.onnx"
    if fp32.exists() and int8.exists():
        return fp32, int8
    model = builtin_models.minilm_encoder() if name == "minilm" else getattr(builtin_models, name)()
    raw = CACHE / f"{name}_raw.onnx"
    onnx.save(model, raw)
    quant_pre_process(str(raw), str(fp32), skip_symbolic_shape=True)
    if name == "minilm":
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        return fp32, int8

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = [feeds(model, seed) for seed in range(8)]

        def get_next(self) -> dict[str, np.ndarray] | None:
            return self.left.pop() if self.left else None

    quantize_static(
        str(fp32), str(int8), Reader(), per_channel=True,
        quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )  # fmt: skip
    return fp32, int8


def feeds(model: Any, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for an ONNX model: images ~ N(0, 1), token ids in [0, 1000), mask of ones."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    out = {}
    for value in model.graph.input:
        t = value.type.tensor_type
        shape = [d.dim_value or 1 for d in t.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(t.elem_type)
        if np.issubdtype(dtype, np.floating):
            out[value.name] = rng.standard_normal(shape).astype(dtype)
        elif "mask" in value.name:
            out[value.name] = np.ones(shape, dtype)
        else:
            out[value.name] = rng.integers(0, 1000, shape).astype(dtype)
    return out


_PACKAGES = ["conformance", "converter", "cython_kernels", "npu_plugin", "opencl_plugin",
             "plugins", "refimpl", "tools"]  # fmt: skip


def import_from(tree: str) -> None:
    """Makes `import gossamer` (and its subpackages) load the source tree at `tree` in this
    process, ahead of the installed one."""
    import importlib.abc
    import importlib.util
    import sys

    dirs = {"gossamer": Path(tree) / "gossamer"}
    dirs.update({f"gossamer.{p}": Path(tree) / p for p in _PACKAGES})

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            where = dirs.get(fullname)
            if where is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, where / "__init__.py", submodule_search_locations=[str(where)]
            )

    sys.meta_path.insert(0, Finder())


def warm_cython_int8(
    model: str, threads: int, baseline: str = ""
) -> tuple[Any, dict[str, np.ndarray]]:
    """The cython session of `model`'s static int8 variant (from the `baseline` tree when given)
    after 5 untimed runs, and its feeds: what the pool-trace scripts time."""
    if baseline:
        import_from(baseline)
    import onnx

    import gossamer

    fp32, int8 = quantised(model)
    inputs = feeds(onnx.load(str(fp32)))
    sess = gossamer.load(str(int8), backends=["cython"], threads=threads)
    for _ in range(5):
        sess.run(None, inputs)
    return sess, inputs


def set_variant(variant: str) -> None:
    """Applies --variant's "SETTER=VALUE,..." (ext.SETTER(int(VALUE)), e.g. qsplit_pieces=1) in
    this process."""
    from gossamer.cython_kernels._native import ext

    for item in filter(None, variant.split(",")):
        setter, _, value = item.partition("=")
        getattr(ext(), setter.strip())(int(value))


def session(engine: str, fp32: Path, int8: Path, threads: int, baseline: str = "") -> Any:
    """The engine's session and a function running one inference (for gossamer-int8-variant,
    `baseline` is the --variant settings)."""
    if engine == "gossamer-int8-baseline":
        import_from(baseline)
    if engine == "gossamer-int8-variant":
        set_variant(baseline)
    if engine.startswith("gossamer"):
        import gossamer

        model = fp32 if engine == "gossamer-fp32" else int8
        sess = gossamer.load(str(model), backends=["cython"], threads=threads)
        return sess, lambda f: sess.run(None, f)
    if engine == "openvino-int8":
        import openvino as ov

        # f32 precision hint: no bf16 on the float parts where a CPU has it, like the others
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                  "PERFORMANCE_HINT": "LATENCY"}  # fmt: skip
        compiled = ov.Core().compile_model(str(int8), "CPU", config)
        request = compiled.create_infer_request()
        return compiled, lambda f: request.infer(f)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(str(int8), opts, providers=["CPUExecutionProvider"])
    return sess, lambda f: sess.run(None, f)


def serve(conn: Any, engine: str, fp32: Path, int8: Path, threads: int, inputs: dict,
          baseline: str = "", stat: str = "median") -> None:  # fmt: skip
    """One engine in its own process (its threads never compete with another engine's spinning
    workers): answers "run" with one run's milliseconds, "profile" with where_time_goes rows."""
    logging.getLogger().setLevel(logging.ERROR)
    try:
        sess, run = session(engine, fp32, int8, threads, baseline)
    except Exception as e:  # a peer that cannot read this model: the table says so
        last = (str(e).splitlines() or [""])[-1][:200]
        conn.send(f"cannot run: {type(e).__name__}: {last}")
        return
    conn.send("ready")
    while True:
        what = conn.recv()
        if isinstance(what, tuple) and what[0] == "run":
            times = []
            for _ in range(what[1] + (what[1] > 1)):  # an untimed wake-up run before a block
                start = time.perf_counter()
                run(inputs)
                times.append((time.perf_counter() - start) * 1000)
            conn.send((min if stat == "min" else statistics.median)(times[-what[1] :]))
        elif what == "profile":
            conn.send(where_time_goes(sess, inputs))
        else:
            return


def where_time_goes(session: Any, inputs: dict[str, np.ndarray], runs: int = 3) -> list[str]:
    """Per op type and backend: ms per run and node count, from a profiled run (node by node)."""
    from gossamer.profiling import TraceRecorder

    recorder = TraceRecorder(session)
    for _ in range(runs):
        session.run(None, inputs, observers=[recorder])
    path = CACHE / "trace.json"
    recorder.write(str(path))
    import json

    events = json.loads(path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    total: dict[tuple[str, str], float] = collections.defaultdict(float)
    count: collections.Counter = collections.Counter()
    for e in events:
        args = e.get("args") or {}
        if e.get("ph") == "X" and "backend" in args:
            key = (str(args.get("op") or args.get("op_type")), str(args["backend"]))
            total[key] += e["dur"] / 1000 / runs
            count[key] += 1
    rows = sorted(total.items(), key=lambda kv: -kv[1])
    return [f"| {op} | {be} | {count[(op, be)] // runs} | {ms:.2f} |" for (op, be), ms in rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--block", type=int, default=5, help="timed runs per turn (their median)")
    p.add_argument("--stat", choices=["median", "min"], default="median")
    p.add_argument("--out", default=str(HERE / "results" / "int8_kernels.md"))
    p.add_argument("--baseline", default="", help="an earlier Gossamer tree to compare with")
    p.add_argument("--variant", default="",
                   help="+ this tree's int8 with ext settings SETTER=VALUE,... (e.g. "
                   "qsplit_pieces=1) in its own process, as one more engine")  # fmt: skip
    p.add_argument("--format", choices=["qoperator", "qdq"], default="qoperator",
                   help="ONNX format of the statically quantised models")  # fmt: skip
    p.add_argument("--openvino", action="store_true",
                   help="+ OpenVINO on the same int8 model (it reads QDQ and dynamic models, "
                   "not QOperator's com.microsoft ops: use with --format qdq)")  # fmt: skip
    args = p.parse_args()
    all_engines = ENGINES + (["openvino-int8"] if args.openvino else [])
    all_engines += ["gossamer-int8-baseline"] if args.baseline else []
    all_engines += ["gossamer-int8-variant"] if args.variant else []
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    logging.getLogger().setLevel(logging.ERROR)
    from gossamer.cython_kernels import simd_level
    from gossamer.cython_kernels._native import ext

    lines = [
        "# Int8 kernels: Gossamer cython int8 vs Gossamer fp32 vs onnxruntime int8",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"SIMD level {simd_level()}, AVX512_VNNI: {ext().cpu_has_vnni()}, 8-bit GEMM core: "
        f"{ext().Q8_CORES[ext().q8_core()] if ext().q8_core() else 'none (int16 pairs)'}. "
        f"{args.runs} interleaved turns of {args.block} runs (their {args.stat}; one untimed "
        f"run first; the table: the {args.stat} over turns) after {args.warmup} warm-up turns; "
        f"load average at start {os.getloadavg()[0]:.1f}. Static models in {args.format.upper()} "
        "format.",
        "",
        "| model | threads | gossamer int8 ms | gossamer fp32 ms | onnxruntime int8 ms "
        "| int8 / ort int8 | int8 / gossamer fp32 |"
        + (" openvino int8 ms | int8 / openvino int8 |" if args.openvino else "")
        + (" baseline int8 ms | baseline int8 / ort int8 |" if args.baseline else "")
        + (f" {args.variant} int8 ms | {args.variant} / ort int8 |" if args.variant else ""),
        "|---|---|---|---|---|---|---|"
        + ("---|---|" if args.openvino else "")
        + ("---|---|" if args.baseline else "")
        + ("---|---|" if args.variant else ""),
    ]
    skipped: list[str] = []
    profiles: dict[str, list[str]] = {}
    for name in args.models.split(","):
        fp32, int8 = quantised(name, args.format)
        import onnx

        inputs = feeds(onnx.load(str(fp32)))
        for threads in (int(t) for t in args.threads.split(",")):
            workers = {}
            for engine in all_engines:
                mine, theirs = context.Pipe()
                extra = args.variant if engine == "gossamer-int8-variant" else args.baseline
                proc = context.Process(
                    target=serve,
                    args=(theirs, engine, fp32, int8, threads, inputs, extra, args.stat),
                )
                proc.start()
                workers[engine] = (proc, mine)
            for engine, (proc, conn) in list(workers.items()):
                answer = conn.recv()
                if answer != "ready":
                    if engine != "openvino-int8":  # only the optional peer may be missing
                        raise SystemExit(f"{engine} on {name}: {answer}")
                    skipped.append(f"{engine} on {name}_int8 ({threads} threads): {answer}")
                    proc.join()
                    del workers[engine]
            engines = list(workers)
            times: dict[str, list[float]] = {e: [] for e in engines}
            for r in range(args.warmup + args.runs):
                k = r % len(engines)
                order = engines[k:] + engines[:k]  # rotate who runs first
                for engine in order:
                    time.sleep(0.05)  # the previous engine's idle workers stop spinning
                    workers[engine][1].send(("run", args.block))
                    ms = workers[engine][1].recv()
                    if r >= args.warmup:
                        times[engine].append(ms)
            pick = min if args.stat == "min" else statistics.median
            med = {e: pick(v) for e, v in times.items()}
            lines.append(
                f"| {name} | {threads} | {med['gossamer-int8']:.2f} | {med['gossamer-fp32']:.2f}"
                f" | {med['onnxruntime-int8']:.2f}"
                f" | {med['gossamer-int8'] / med['onnxruntime-int8']:.2f}"
                f" | {med['gossamer-int8'] / med['gossamer-fp32']:.2f} |"
            )
            if args.openvino:
                ov_ms = med.get("openvino-int8")
                lines[-1] += (
                    f" {ov_ms:.2f} | {med['gossamer-int8'] / ov_ms:.2f} |" if ov_ms else " n/a | |"
                )
            if args.baseline:
                base = med["gossamer-int8-baseline"]
                lines[-1] += f" {base:.2f} | {base / med['onnxruntime-int8']:.2f} |"
            if args.variant:
                var = med["gossamer-int8-variant"]
                lines[-1] += f" {var:.2f} | {var / med['onnxruntime-int8']:.2f} |"
            print(lines[-1], flush=True)
            if threads == 1:
                workers["gossamer-int8"][1].send("profile")
                profiles[name] = workers["gossamer-int8"][1].recv()
            for proc, conn in workers.values():
                conn.send("stop")
                proc.join()
    lines += [
        "",
        "Load average at the end (1, 5, 15 min): "
        + ", ".join(f"{v:.1f}" for v in os.getloadavg())
        + ".",
        "",
        *(f"- not run: {why}" for why in skipped),
        "",
        "How the int8 path runs: where the CPU has AVX512_VNNI, convolutions (im2col, 1x1 on "
        "the input as is) and products with constant weights run the 8-bit GEMM "
        "(docs/int8-kernels.md): u8 x s8 bytes, 4 products per int32 lane, on AMX-INT8 tiles "
        "(TDPBSUD / TDPBUSD, 2 x 2 16 x 16 tiles per step) where Linux grants the tile state, "
        "else vpdpbusd; zero points by row / column sums folded into the bias; the 3x3 "
        "convolutions take im2col + this GEMM rather than the int16 Winograd. GOSSAMER_AMX=off "
        "keeps it on VNNI. Without VNNI (AVX2) the GEMM multiplies zero-point-shifted int16 pairs "
        "with _mm256_madd_epi16, exact for any 8-bit operands (_mm256_maddubs_epi16 saturates "
        "its int16 pair sums), and 3x3 stride-1 convolutions run an integer Winograd F(2x2, 3x3) "
        "(exact while 255 * sum |w - zw| < 2^29 per output channel).",
        "",
        "## Where Gossamer's int8 time goes (1 thread, profiled node by node)",
        "",
    ]
    for name, rows in profiles.items():
        lines += [f"### {name}", "", "| op | backend | nodes | ms/run |", "|---|---|---|---|"]
        lines += rows[:12] + [""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
