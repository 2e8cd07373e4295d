"""Load + first run: Gossamer from .onnx, from an optimised .gsm and from a pre-packed .gsm
(`gossamer convert --pack cython`), against onnxruntime's InferenceSession creation + first run.

    python benchmarks/load_first_run.py [--models a,b] [--threads 1] [--repeats 3]
        [--out benchmarks/results/load_first_run.md]

Each measurement is a fresh process (imports done before the clock starts, so the figures are
the session's cost, not Python's start-up): the load, the first run, and the process's peak RSS
(VmHWM) with its RSS after the imports. Variants are interleaved and repeated; medians are
reported. Files are in the page cache (not a cold disk), the CPU caches are cold. A benchmark, not
a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("gossamer .onnx", "gossamer .gsm", "gossamer .gsm --pack", "onnxruntime")
# the benchmark models, then the shared real ONNX models (benchmarks/bench_models.py)
DEFAULT_MODELS = (
    "mobilenet_v2,resnet18,resnet50,squeezenet1_1,minilm,lstm,minilm_l6_int8,mtcnn_onet,"
    "mtcnn_pnet,mtcnn_rnet,nudenet_320n_yolov8n,ppocr_mobile_v2_cls,ppocrv4_rec,"
    "silero_vad_v6_16k_sequence,silero_vad_v6_openvino_16k"
)


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker(variant: str, path: str, feeds_path: str, threads: int) -> None:
    """One measurement in this process: prints {"load", "first", "rss_mb", "base_mb", ...}."""
    import numpy as np

    feeds = dict(np.load(feeds_path))
    start = time.perf_counter()
    if variant == "onnxruntime":
        import onnxruntime as ort

        imported = time.perf_counter() - start
        base = _rss_kb("VmRSS")
        c0, t0 = time.process_time(), time.perf_counter()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        t1 = time.perf_counter()
        sess.run(None, feeds)
        extra = {}
    else:
        from gossamer.plugins import prepacked

        import gossamer

        imported = time.perf_counter() - start
        base = _rss_kb("VmRSS")
        c0, t0 = time.process_time(), time.perf_counter()
        session = gossamer.load(path, threads=threads)
        t1 = time.perf_counter()
        session.run(None, feeds)
        extra = dict(prepacked.stats)
    t2, cpu = time.perf_counter(), time.process_time() - c0
    peak = _rss_kb("VmHWM")
    print(json.dumps({"import": imported, "cpu": cpu, "load": t1 - t0, "first": t2 - t1,
                      "rss_mb": peak / 1024, "base_mb": base / 1024, **extra}))  # fmt: skip


# workers keep compiled bytecode (an installed package has it) even where the caller's
# environment says PYTHONDONTWRITEBYTECODE; the discarded first round writes it
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV.setdefault("PYTHONPYCACHEPREFIX", str(Path.home() / ".cache" / "gossamer" / "bench-pycache"))


def _measure(variant: str, path: str, feeds: str, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", variant, path, feeds, str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_ENV)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _files(name: str) -> dict[str, str]:
    """The model's .onnx, its feeds, the -O3 .gsm and the pre-packed -O3 .gsm (made once)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_models import prepare  # type: ignore[import-not-found]
    from gossamer.cython_kernels import simd_level

    spec = prepare(name, ["gossamer"], 3, None).spec
    packed = Path(spec["gsm"]).with_name(f"O3-packed-{simd_level()}.gsm")
    if not packed.exists():
        import numpy as np

        with np.load(spec["feeds"]) as feeds:  # the packing run uses the benchmark's shapes
            shapes = [f"--shape={k}={','.join(map(str, v.shape))}" for k, v in feeds.items()]
        cmd = [str(Path(sys.executable).with_name("gossamer")), "convert", spec["onnx"], "-o",
               str(packed), "--pack", "cython", *shapes]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=1200)
    return {"gossamer .onnx": spec["onnx"], "gossamer .gsm": spec["gsm"],
            "gossamer .gsm --pack": str(packed), "onnxruntime": spec["onnx"],
            "feeds": spec["feeds"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/load_first_run.md")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = []
    for name in args.models.split(","):
        files = _files(name)
        for variant in VARIANTS:  # one discarded round: .pyc files, page cache
            _measure(variant, files[variant], files["feeds"], args.threads)
        results: dict[str, list[dict]] = {v: [] for v in VARIANTS}
        for _ in range(args.repeats):
            for variant in VARIANTS:
                results[variant].append(
                    _measure(variant, files[variant], files["feeds"], args.threads)
                )
        sizes = {v: Path(files[v]).stat().st_size / 2**20 for v in VARIANTS[:3]}
        rows.append(_row(name, results, sizes))
        print(rows[-1], flush=True)
        _write(args, rows, load_before, os.getloadavg())  # after each model: partial results


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def _row(name: str, results: dict[str, list[dict]], sizes: dict[str, float]) -> str:
    cells = [name]
    ort = results["onnxruntime"]
    ort_total = (_median(ort, "load") or 0) + (_median(ort, "first") or 0)
    ort_cpu = _median(ort, "cpu") or 0
    for variant in VARIANTS:
        runs = results[variant]
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            cells.append(f"error: {errors[0]}")
            continue
        load, first = _median(runs, "load") or 0, _median(runs, "first") or 0
        cpu = _median(runs, "cpu") or 0
        ratio = f" ({(load + first) / ort_total:.2f}×)" if ort_total else ""
        cpu_ratio = f" ({cpu / ort_cpu:.2f}×)" if ort_cpu else ""
        rss = _median(runs, "rss_mb") or 0
        grown = rss - (_median(runs, "base_mb") or 0)
        reused = int(_median(runs, "reused") or 0)
        packs = int(_median(runs, "packed") or 0)
        forms = f"; {reused} reused / {packs} packed" if variant != "onnxruntime" else ""
        size = f"; {sizes[variant]:.0f} MB file" if variant in sizes else ""
        cells.append(
            f"{load * 1e3:.0f} + {first * 1e3:.0f} ms{ratio}; CPU {cpu * 1e3:.0f} ms{cpu_ratio}; "
            f"RSS {rss:.0f} MB (+{grown:.0f}){forms}{size}"
        )
    imports = [_median(results[v], "import") or 0 for v in ("gossamer .gsm", "onnxruntime")]
    cells.append(" / ".join(f"{t * 1e3:.0f}" for t in imports))
    return "| " + " | ".join(cells) + " |"


_NOTES = "## Reading"  # the results file's hand-written section, from this heading on


def _write(args: argparse.Namespace, rows: list[str], before: tuple, after: tuple) -> None:
    import onnxruntime
    from gossamer.cython_kernels import simd_level

    import gossamer

    command = (
        f"python benchmarks/load_first_run.py --models {args.models} --threads {args.threads} "
        f"--repeats {args.repeats}"
    )
    lines = [
        "# Load + first run",
        "",
        f"`{command}` — {time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} cores, SIMD level {simd_level()}, {args.threads} thread(s), gossamer "
        f"{gossamer.__version__}, onnxruntime {onnxruntime.__version__}.",
        f"Load average (1/5/15 min) at start {before[0]:.1f}/{before[1]:.1f}/{before[2]:.1f}, "
        f"at end {after[0]:.1f}/{after[1]:.1f}/{after[2]:.1f}: a shared machine, figures are "
        "noisy.",
        "",
        "Each cell: median load + median first run, wall time (their sum's ratio to "
        "onnxruntime's session creation + first run); the CPU time of both (ratio: robust to the "
        "machine's load, where wall time is not); peak RSS of the process (growth over its RSS "
        "after the imports); for Gossamer the weight forms reused from the file / packed at load "
        "or first run, and the file size. Last column: the median `import gossamer` / `import "
        f"onnxruntime` in ms, not counted in the cells. Medians of {args.repeats} fresh processes "
        "per variant, interleaved. `.gsm` is "
        "`gossamer convert -O3`, `.gsm --pack` adds `--pack cython`.",
        "",
        "| model | " + " | ".join(VARIANTS) + " | import (ms) |",
        "|---" * (len(VARIANTS) + 2) + "|",
        *rows,
        "",
    ]
    out = Path(args.out)
    old = out.read_text() if out.exists() else ""
    notes = old[old.index(_NOTES) :] if _NOTES in old else ""  # hand-written, kept on a rerun
    out.write_text("\n".join(lines) + ("\n" + notes if notes else ""))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
