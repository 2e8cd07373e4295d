"""Load + first run: Gossamer from .onnx, from an optimised .gsm and from a pre-packed .gsm
(`gossamer convert --pack cython`), against onnxruntime's InferenceSession creation + first run.

    python benchmarks/load_first_run.py [--models a,b] [--threads 1] [--repeats 3] [--init]
        [--before TREE] [--out benchmarks/results/load_first_run.md]

Each measurement is a fresh process that imports numpy and reads the feeds, then times, for both
engines alike: the engine's import (`import gossamer` / `import onnxruntime`), the load (session
creation) and the first run; and reads the process's peak RSS (VmHWM) and its RSS after the
import. Cells give load + first run (the session's cost) and, separately, the import, and
the ratio of import + load + first run to onnxruntime's (what a fresh process pays). Then the
same process loads and runs the model again: that second load + first run is what every later
session pays, the difference what the process pays once (first-use imports, caches).
CPU times are the process's (all threads: a pool's spinning workers too) and the calling
thread's alone (what the load and first run cost it, robust to another process on the cores).
`--init` does what benchmarks/bench_worker.py does before its load timer, the figures the
issue's side-by-side table reports: Gossamer's plugin discovery (`plugin_state()`, which imports
every registered backend) runs after the import, untimed in the load and reported apart.
`--before TREE` adds the variant "before", the pre-packed .gsm written and loaded by another
Gossamer tree, interleaved with the others: a checkout with its own `.venv` (its Python and its
`gossamer` run it whole), else a PYTHONPATH entry laid out as the `gossamer` package (e.g. a `git
archive` of an older commit; this install's editable finder must not supply any of its modules).
Variants are interleaved and repeated; medians are reported. Files are in the page cache (not a
cold disk), the CPU caches are cold. A benchmark, not a test: nothing is asserted.
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
from typing import Any

VARIANTS = ("gossamer .onnx", "gossamer .gsm", "gossamer .gsm --pack", "onnxruntime")
BEFORE = "before: .gsm --pack"  # the --before tree on the pre-packed file
BEFORE_NOTE = "; `before`: the pre-packed file written and loaded by the --before tree."
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


def worker(variant: str, path: str, feeds_path: str, threads: int, init: bool = False) -> None:
    """One measurement in this process: prints {"import", "load", "first", "rss_mb", ...}."""
    import numpy as np

    feeds = dict(np.load(feeds_path))
    i0, start = time.process_time(), time.perf_counter()
    if variant == "onnxruntime":
        import onnxruntime as ort

        def make() -> Any:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

        imported, import_cpu = time.perf_counter() - start, time.process_time() - i0
        init_s = 0.0
        extra: dict[str, Any] = {}
    else:
        from gossamer.plugins import prepacked

        import gossamer

        imported, import_cpu = time.perf_counter() - start, time.process_time() - i0
        init_s = 0.0
        if init:  # what bench_worker.py does before its load timer
            from gossamer.plugins.manager import plugin_state

            at = time.perf_counter()
            plugin_state()
            init_s = time.perf_counter() - at

        def make() -> Any:
            return gossamer.load(path, threads=threads)

        extra = prepacked.stats
    base = _rss_kb("VmRSS")
    times, main_load = [], 0.0
    for again in (False, True):
        c0, m0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
        session = make()
        t1, m1 = time.perf_counter(), time.thread_time()
        session.run(None, feeds)
        t2 = time.perf_counter()
        times.append((t1 - t0, t2 - t1, time.process_time() - c0, time.thread_time() - m0))
        if not again:
            main_load = m1 - m0  # the calling thread's CPU in the first load alone
            # VmHWM: this address space's peak. Not getrusage's ru_maxrss, which Linux carries
            # over fork + exec: it would report the benchmark parent's RSS (122 MB) for every
            # worker. Read before the second session, which would add its own
            peak = _rss_kb("VmHWM")
            extra = dict(extra)  # the first session's weight forms
        del session
    (load, first, cpu, main), (load2, first2, _, main2) = times
    print(json.dumps({"import": imported, "import_cpu": import_cpu, "init": init_s, "cpu": cpu,
                      "main_cpu": main, "main_load_cpu": main_load, "load": load,
                      "first": first, "load2": load2, "first2": first2, "main_cpu2": main2,
                      "rss_mb": peak / 1024, "base_mb": base / 1024, **extra}))  # fmt: skip


# workers keep compiled bytecode (an installed package has it) even where the caller's
# environment says PYTHONDONTWRITEBYTECODE; the discarded first round writes it
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV.setdefault("PYTHONPYCACHEPREFIX", str(Path.home() / ".cache" / "gossamer" / "bench-pycache"))


def _measure(
    variant: str, path: str, feeds: str, threads: int, before: str | None = None,
    init: bool = False,
) -> dict:  # fmt: skip
    python, env = (sys.executable, _ENV) if variant != BEFORE else _tree(before or "")
    cmd = [python, __file__, "--worker", variant, path, feeds, str(threads)]
    cmd += ["--init"] if init else []
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _tree(before: str) -> tuple[str, dict]:
    """The Python and environment that run the --before tree: its own .venv where it has one
    (with PYTHONPATH alone, this install's editable finder would supply the modules the path
    lacks: refimpl, cython_kernels, plugins, ... of this tree)."""
    own = Path(before) / ".venv" / "bin" / "python"
    if own.exists():
        return str(own), _ENV
    return sys.executable, {**_ENV, "PYTHONPATH": before}


def _files(name: str, before: str | None = None) -> dict[str, str]:
    """The model's .onnx, its feeds, the -O3 .gsm and the pre-packed -O3 .gsm (made once; remade
    when its optimisation record is not this tree's), and with `before` the pre-packed .gsm as
    the --before tree writes it (remade each run: its optimiser checksum is its own)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_models import prepare  # type: ignore[import-not-found]
    from gossamer.cython_kernels import simd_level

    spec = prepare(name, ["gossamer"], 3, None).spec
    packed = Path(spec["gsm"]).with_name(f"O3-packed-{simd_level()}.gsm")
    # remade when its record is not current (an older optimiser, or none): load would optimise
    # it again, and the benchmark would time that instead of a pre-packed load; and when a run
    # of it packs a weight (its stored forms are another layout version's)
    if not packed.exists() or not _is_current(packed) or not _packs_stored(packed, spec):
        _pack(spec, packed)
    files = {"gossamer .onnx": spec["onnx"], "gossamer .gsm": spec["gsm"],
             "gossamer .gsm --pack": str(packed), "onnxruntime": spec["onnx"],
             "feeds": spec["feeds"]}  # fmt: skip
    if before:
        files[BEFORE] = str(packed.with_name(f"O3-packed-{simd_level()}-before.gsm"))
        _pack(spec, Path(files[BEFORE]), *_tree(before))
    return files


def _pack(
    spec: dict, out: Path, python: str = sys.executable, env: dict | None = None
) -> None:
    """`gossamer convert --pack cython` of the model (by `python`'s install), at the
    benchmark's input shapes."""
    import numpy as np

    with np.load(spec["feeds"]) as feeds:  # the packing run uses the benchmark's shapes
        shapes = [f"--shape={k}={','.join(map(str, v.shape))}" for k, v in feeds.items()]
    cmd = [str(Path(python).with_name("gossamer")), "convert", spec["onnx"], "-o",
           str(out), "--pack", "cython", *shapes]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=1200, env=env)


def _is_current(path: Path) -> bool:
    """Optimised by this tree's optimiser, and its stored layouts (if any) planned by this tree's
    planner: else a load would plan again, and the benchmark would time that."""
    from gossamer.converter.optimizer.record import optimized_level
    from gossamer.refimpl.model_format import load_gsm
    from gossamer.refimpl.model_format.layouts import MISSING, any_layout
    from gossamer.stored_layouts import stored_layout

    graph = load_gsm(path)
    if optimized_level(graph) < 3:
        return False
    return not any_layout(graph) or stored_layout(graph, None) is not MISSING


def _packs_stored(path: Path, spec: dict) -> bool:
    """A load and a run of the pre-packed file in this process pack no weight (every form it
    needs is stored under this tree's keys: cython_kernels/prepacked.py)."""
    import numpy as np

    import gossamer
    from gossamer.plugins import prepacked

    with np.load(spec["feeds"]) as data:
        feeds = {k: data[k] for k in data.files}
    before = prepacked.stats["packed"]
    gossamer.load(str(path), threads=1).run(None, feeds)
    return prepacked.stats["packed"] == before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/load_first_run.md")
    parser.add_argument("--before", help="an older Gossamer tree to compare (see above)")
    parser.add_argument(
        "--init", action="store_true",
        help="run Gossamer's plugin discovery after the import, untimed in the load (as "
        "benchmarks/bench_worker.py, whose figures the side-by-side table reports)",
    )  # fmt: skip
    parser.add_argument("--variants", default=",".join(VARIANTS), help="a subset of VARIANTS")
    args = parser.parse_args()
    args.started = time.strftime("%Y-%m-%d %H:%M")
    chosen = [v for v in VARIANTS if v in args.variants.split(",")]
    if "onnxruntime" not in chosen:
        parser.error("--variants must include onnxruntime (the reference of every ratio)")
    args.variants = variants = (*chosen, BEFORE) if args.before else tuple(chosen)
    load_before = os.getloadavg()
    rows = []
    for name in args.models.split(","):
        for _attempt in range(3):
            files = _files(name, args.before)
            results = _measure_model(args, variants, files)
            # the optimiser's checksum covers its sources: an edit to them during the run makes
            # the file's record stale, and the load optimise again; measure such a model again
            if "gossamer .gsm --pack" not in variants or _is_current(Path(files[VARIANTS[2]])):
                break
            print(f"{name}: the optimiser changed during its runs; measuring it again", flush=True)
        sizes = {v: Path(files[v]).stat().st_size / 2**20 for v in variants if "gossamer" in v}
        rows.append(_row(name, results, sizes))
        print(rows[-1], flush=True)
        _write(args, rows, load_before, os.getloadavg())  # after each model: partial results


def _measure_model(
    args: argparse.Namespace, variants: tuple[str, ...], files: dict[str, str]
) -> dict[str, list[dict]]:
    """`args.repeats` interleaved rounds of every variant, after one discarded round (.pyc
    files, page cache)."""
    for variant in variants:
        _measure(variant, files[variant], files["feeds"], args.threads, args.before, args.init)
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant in variants:
            results[variant].append(
                _measure(
                    variant, files[variant], files["feeds"], args.threads, args.before, args.init
                )
            )
    return results


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else None


def _ms(seconds: float) -> str:
    """Milliseconds, with a decimal below 10 (the small models' loads are a few ms)."""
    ms = seconds * 1e3
    return f"{ms:.1f}" if ms < 10 else f"{ms:.0f}"


def _row(name: str, results: dict[str, list[dict]], sizes: dict[str, float]) -> str:
    cells = [name]
    ort = results["onnxruntime"]
    ort_total = (_median(ort, "load") or 0) + (_median(ort, "first") or 0)
    ort_cpu = _median(ort, "cpu") or 0
    ort_main = _median(ort, "main_cpu") or 0
    ort_all = ort_total + (_median(ort, "import") or 0)
    for variant in results:
        runs = results[variant]
        errors = [r["error"] for r in runs if "error" in r]
        if errors:
            cells.append(f"error: {errors[0]}")
            continue
        load, first = _median(runs, "load") or 0, _median(runs, "first") or 0
        cpu, main = _median(runs, "cpu") or 0, _median(runs, "main_cpu") or 0
        ratio = f" ({(load + first) / ort_total:.2f}×)" if ort_total else ""
        cpu_ratio = f" ({cpu / ort_cpu:.2f}×)" if ort_cpu else ""
        main_ratio = f" ({main / ort_main:.2f}×)" if ort_main else ""
        main_load = f", {_ms(_median(runs, 'main_load_cpu') or 0)} of it in the load"
        again = f"{_ms(_median(runs, 'load2') or 0)} + {_ms(_median(runs, 'first2') or 0)} ms"
        rss = _median(runs, "rss_mb") or 0
        grown = rss - (_median(runs, "base_mb") or 0)
        reused = int(_median(runs, "reused") or 0)
        packs = int(_median(runs, "packed") or 0)
        forms = f"; {reused} reused / {packs} packed" if variant != "onnxruntime" else ""
        size = f"; {sizes[variant]:.0f} MB file" if variant in sizes else ""
        imported = _median(runs, "import") or 0
        init = _median(runs, "init") or 0
        inits = f" + init {_ms(init)} ms" if init else ""
        with_import = (imported + init + load + first) / ort_all if ort_all else 0
        cells.append(
            f"{_ms(load)} + {_ms(first)} ms{ratio}; CPU {_ms(cpu)} ms{cpu_ratio}, calling "
            f"thread {_ms(main)} ms{main_ratio}{main_load}; again {again}; "
            f"RSS {rss:.0f} MB (+{grown:.0f})"
            f"{forms}{size}; import {_ms(imported)} ms (CPU "
            f"{_ms(_median(runs, 'import_cpu') or 0)}){inits}, with it {with_import:.2f}×"
        )
    return "| " + " | ".join(cells) + " |"


def _write(args: argparse.Namespace, rows: list[str], before: tuple, after: tuple) -> None:
    """Writes this run's table as the results file's first section ("## Run <start time>");
    the file's other sections (earlier runs, hand-written notes) are kept below it."""
    import onnxruntime
    from gossamer.cython_kernels import simd_level

    import gossamer

    variants = args.variants
    command = (
        f"python benchmarks/load_first_run.py --models {args.models} --threads {args.threads} "
        f"--repeats {args.repeats} --variants {','.join(v for v in variants if v != BEFORE)}"
        + (" --init" if args.init else "")
        + (" --before PATH" if args.before else "")
    )
    heading = f"## Run {args.started}"
    lines = [
        heading,
        "",
        f"`{command}` — {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} cores, SIMD level {simd_level()}, {args.threads} thread(s), gossamer "
        f"{gossamer.__version__}, onnxruntime {onnxruntime.__version__}.",
        f"Load average (1/5/15 min) at start {before[0]:.1f}/{before[1]:.1f}/{before[2]:.1f}, "
        f"at end {after[0]:.1f}/{after[1]:.1f}/{after[2]:.1f}: a shared machine, figures are "
        "noisy.",
        "",
        "Each cell: median load + median first run, wall time (their sum's ratio to "
        "onnxruntime's session creation + first run); the CPU time of both, the process's (all "
        "threads) and the calling thread's (with the load's part of it; ratios: robust to the "
        "machine's load, where wall time is not); again: a second load + first run of the model "
        "in the same process (what every later session pays); peak RSS of the process (VmHWM; "
        "growth over its RSS after the import); for Gossamer the weight forms reused from the "
        "file / packed at load or first run, and the file size; the engine's import (`import "
        "gossamer` / `import onnxruntime`, measured alike in the same fresh process, not in the "
        "load), with --init Gossamer's plugin discovery after it (untimed in the load, as "
        "side_by_side.py), and the ratio of import (+ init) + load + first run to onnxruntime's. "
        "Medians of "
        f"{args.repeats} fresh processes per variant, interleaved. `.gsm` is `gossamer convert "
        "-O3`, `.gsm --pack` adds `--pack cython`" + (BEFORE_NOTE if args.before else "."),
        "",
        "| model | " + " | ".join(variants) + " |",
        "|---" * (len(variants) + 1) + "|",
        *rows,
        "",
    ]
    out = Path(args.out)
    old = out.read_text() if out.exists() else "# Load + first run\n"
    title, *sections = old.split("\n## ")
    kept = [f"## {sec}" for sec in sections if f"## {sec}".splitlines()[0] != heading]
    text = title.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + "\n".join(kept)
    out.write_text(text.rstrip("\n") + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), "--init" in sys.argv[6:])
    else:
        main()
