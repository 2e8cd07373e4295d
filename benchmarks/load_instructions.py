"""Instructions of a warm load + first run, counted by callgrind: a figure that holds still
whatever else the machine is doing (a load + first run of a small model takes a few ms, which
another process on the cores moves by 2x).

    python benchmarks/load_instructions.py --models ppocr_mobile_v2_cls,mtcnn_pnet \\
        --trees /tmp/base,. [--source gsm|onnx]

Per tree (a checkout with its own build and `.venv`) and model, the tree's own Python loads the
model and runs it once (untimed: imports, caches), then loads and runs it again N times under
`valgrind --tool=callgrind`; the figure is (count at N=7 - count at N=2) / 5, the instructions of
one more load + first run. `--source gsm` (default) loads a pre-packed .gsm that the tree's own
optimiser wrote (`gossamer convert --pack cython` at the benchmark's input shapes, kept under
`--cache`): a .gsm another tree's optimiser wrote is optimised again at load. Valgrind has no
AVX-512: under it the kernels run at the AVX2 level, so the file is packed at the level the tree
selects under valgrind (GOSSAMER_SIMD): packed forms and stored layouts keyed to avx512f would not
match there (every weight repacked, the layout planned again) and the count would not be a
pre-packed load's. `--source onnx` loads the .onnx (the optimiser runs at load). PYTHONHASHSEED
is fixed; between two counts of one tree the figure still moves by up to ~5 % on a 10-node model
(garbage collection, dict orders by address), ~1 % on a 100-node one; `--no-gc` turns the
collector off while counting (the counts still move a few % between runs: compare trees on
several models, or count each tree twice). Models come from the side-by-side cache
(bench_models.py).
Needs valgrind. A benchmark, not a test: nothing is asserted."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_models import prepare  # noqa: E402

_WORKER = """
import sys
import numpy as np
import gossamer
from gossamer.plugins.manager import plugin_state
plugin_state()
path, feeds_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
feeds = dict(np.load(feeds_path))
s = gossamer.load(path, threads=1)
s.run(None, feeds)
if sys.argv[4:] == ["nogc"]:  # counts of the code alone: no collections at varying points
    import gc

    gc.collect()
    gc.disable()
for _ in range(n):
    s = gossamer.load(path, threads=1)
    s.run(None, feeds)
"""


def _count(
    python: str, tree: Path, path: str, feeds: str, n: int, env: dict, gc: bool = True
) -> int:
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c",
           _WORKER, path, feeds, str(n), *([] if gc else ["nogc"])]  # fmt: skip
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    found = re.findall(r"Collected : (\d+)", done.stderr)
    if not found:
        raise SystemExit(f"no callgrind count for {tree} {path}: {done.stderr[-400:]}")
    return int(found[-1])


def _valgrind_level(python: str, tree: Path, env: dict) -> str:
    """The SIMD level the tree's kernels select under valgrind (no AVX-512 there)."""
    code = "from gossamer.cython_kernels._native import simd_level; print(simd_level())"
    cmd = ["valgrind", "--tool=none", "-q", python, "-c", code]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ppocr_mobile_v2_cls,mtcnn_pnet")
    ap.add_argument("--trees", default=".", help="comma-separated checkouts, each with a .venv")
    ap.add_argument("--source", choices=["gsm", "onnx"], default="gsm")
    ap.add_argument("--cache", default="/tmp/gossamer-load-instructions")
    ap.add_argument("--no-gc", action="store_true", help="the garbage collector off while "
                    "counting (the collections' varying points and their cost left out; counts "
                    "still move a few %% between runs)")  # fmt: skip
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(args.cache) / "pycache"))
    print("| model | tree | source | instructions per load + first run |\n|---|---|---|---:|")
    for name in args.models.split(","):
        spec = prepare(name, ["gossamer-cython"], 3, None)
        onnx, feeds = spec.spec["onnx"], spec.spec["feeds"]
        with np.load(feeds) as f:
            shapes = [f"--shape={k}={','.join(map(str, v.shape))}" for k, v in f.items()]
        for tree in (Path(t).resolve() for t in args.trees.split(",")):
            python = str(tree / ".venv/bin/python")
            path = onnx
            if args.source == "gsm":
                path = str(Path(args.cache) / f"{tree.name}-{name}.gsm")
                Path(args.cache).mkdir(parents=True, exist_ok=True)
                level = {**env, "GOSSAMER_SIMD": _valgrind_level(python, tree, env)}
                subprocess.run([str(tree / ".venv/bin/gossamer"), "convert", onnx, "-o", path,
                                "--pack", "cython", *shapes], cwd=tree, env=level, check=True,
                               capture_output=True)  # fmt: skip
            # (bytecode written)
            subprocess.run([python, "-c", _WORKER, path, feeds, "0"], cwd=tree, env=env,
                           check=True, capture_output=True)  # fmt: skip
            low = _count(python, tree, path, feeds, 2, env, not args.no_gc)
            high = _count(python, tree, path, feeds, 7, env, not args.no_gc)
            print(f"| {name} | {tree} | {args.source} | {(high - low) // 5:,} |", flush=True)


if __name__ == "__main__":
    main()
