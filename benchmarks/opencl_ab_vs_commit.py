"""Before / after: this tree's opencl backend against a commit's (default HEAD), and both against
the cython backend, in one process, interleaved (cython, the commit's opencl, this tree's opencl,
cython, ...), each run after a 50 ms pause as in opencl_vs_cython.py. The commit's
opencl_plugin is extracted with `git archive` into a temporary folder and registered as a second
backend, `opencl-old`. Prints best / median ms per backend and the two ratios to cython, with the
load average at the start and the end. Not a test: nothing is asserted.

    .venv/bin/python benchmarks/opencl_ab_vs_commit.py [--commit HEAD] [--models a,b] [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_models  # noqa: E402
from opencl_vs_cython import SETTLE_S, model_and_feeds  # noqa: E402

import gossamer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def register_old(commit: str, folder: Path) -> None:
    """The commit's opencl_plugin as package gossamer.opencl_old, backend `opencl-old`."""
    command = ["git", "-C", str(REPO), "archive", commit, "opencl_plugin"]
    blob = subprocess.run(command, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(folder, filter="data")
    root = folder / "opencl_plugin"
    spec = importlib.util.spec_from_file_location(
        "gossamer.opencl_old", root / "__init__.py", submodule_search_locations=[str(root)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gossamer.opencl_old"] = module
    spec.loader.exec_module(module)
    from gossamer.opencl_old import backend as old  # type: ignore[import-not-found]
    from gossamer.plugins import DeferredBackend, hookimpl
    from gossamer.plugins.manager import register_plugin

    old.OldBackend = type(
        "OldBackend", (old.OpenCLBackend,), {"name": "opencl-old", "priority": 180}
    )

    class Plugin:
        @hookimpl
        def gossamer_register_backends(self, register: Any) -> None:
            target = "gossamer.opencl_old.backend:OldBackend"
            register(DeferredBackend("opencl-old", target, 180, False))

    register_plugin(Plugin(), "opencl-old")


def compare(name: str, runs: int) -> str:
    model, feeds = model_and_feeds(name)
    sessions = {b: gossamer.load(model, backends=[b]) for b in ("cython", "opencl-old", "opencl")}
    for sess in sessions.values():
        sess.run(None, feeds)
    times: dict[str, list[float]] = {b: [] for b in sessions}
    for _ in range(runs):
        for backend, sess in sessions.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            sess.run(None, feeds)
            times[backend].append(time.perf_counter() - start)
    best = {b: min(t) * 1e3 for b, t in times.items()}
    med = {b: statistics.median(t) * 1e3 for b, t in times.items()}
    cells = [f"{best[b]:.2f} / {med[b]:.2f}" for b in sessions]
    ratios = [
        f"{best[b] / best['cython']:.2f} / {med[b] / med['cython']:.2f}"
        for b in ("opencl-old", "opencl")
    ]
    return f"| {name} | " + " | ".join(cells + ratios) + " |"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commit", default="HEAD")
    p.add_argument("--models", help="comma-separated (default: every benchmark model)")
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    names = args.models.split(",") if args.models else bench_models.all_model_names()
    with tempfile.TemporaryDirectory() as folder:
        register_old(args.commit, Path(folder))
        print(f"load average at start: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
        print(
            f"| model | cython ms (best / median) | opencl at {args.commit} ms | opencl now ms | "
            f"{args.commit} / cython | now / cython |"
        )
        print("|---|---|---|---|---|---|")
        for name in names:
            try:
                print(compare(name, args.runs), flush=True)
            except Exception as err:  # one model's failure is a row, not the end of the run
                print(f"| {name} | error: {type(err).__name__}: {err} |", flush=True)
        print(f"load average at end: {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
