"""`import gossamer` and loading an optimised .gsm import only what running it needs: no
optimiser, converter, tools, onnx, ml_dtypes (about 1 s to import with numpy 2.4) or opt-in
backend, and no importlib.metadata once the plugin scan is cached. Checked in fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from gossamer.converter.optimizer import optimize
from gossamer.refimpl.model_format import save_gsm

from tests.conftest import matmul_relu_graph

NEVER_ON_IMPORT = [
    "ml_dtypes",
    "onnx",
    "onnxruntime",
    "importlib.metadata",
    "gossamer.converter.optimizer",
    "gossamer.converter.onnx_import",
    "gossamer.tools",
    "gossamer.conformance",
    "gossamer.plugins.manager",
    "gossamer.cython_kernels.backend",
]
NEVER_ON_LOAD = [
    "ml_dtypes",
    "onnx",
    "importlib.metadata",
    "gossamer.converter.optimizer.pipeline",
    "gossamer.converter.optimizer.constant_folding",
    "gossamer.converter.onnx_import",
    "gossamer.tools",
    "gossamer.npu_plugin.backend",
    "gossamer.opencl_plugin.backend",
]


def imported_after(code: str, cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running `code` (a script in cwd)."""
    script = cwd / "probe.py"
    script.write_text(code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n")
    # the script's folder is on sys.path: a fixed time, outside the plugin scan's racy window
    os.utime(cwd, (1_600_000_000, 1_600_000_000))
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_gossamer_imports_none_of_the_heavy_modules(tmp_path):
    found = imported_after("import gossamer", tmp_path)
    assert "gossamer" in found
    assert sorted(found & set(NEVER_ON_IMPORT)) == []


def test_loading_and_running_an_optimised_gsm_imports_only_what_it_runs(tmp_path):
    graph = matmul_relu_graph(bias=False)
    expected = float(np.maximum(np.ones((2, 4), np.float32) @ graph.initializers["w"], 0).sum())
    optimized, _ = optimize(graph, 3)
    work = tmp_path / "work"
    work.mkdir()
    save_gsm(optimized, work / "m.gsm")
    code = (
        "import numpy as np, gossamer\n"
        "s = gossamer.load('m.gsm')\n"
        "y = s.run(None, {'x': np.ones((2, 4), np.float32)})[0]\n"
        f"assert np.isclose(y.sum(), {expected!r}, rtol=1e-5)\n"
    )
    env = {"GOSSAMER_CACHE_DIR": str(tmp_path / "cache")}
    imported_after(code, work, env)  # the first process scans the plugins and caches the list
    found = imported_after(code, work, env)
    assert sorted(found & set(NEVER_ON_LOAD)) == []


def test_bfloat16_still_works_in_a_fresh_process(tmp_path):
    code = (
        "import numpy as np, gossamer\n"
        "from gossamer.refimpl.ir import Graph, Node, Value\n"
        "g = Graph(nodes=[Node('Cast', ['x'], ['y'], {'to': 16}, 'c')],\n"
        "          inputs=[Value('x', 'float32', (3,))], outputs=[Value('y', 'bfloat16', (3,))],\n"
        "          opsets={'': 21})\n"
        "y = gossamer.load(g).run(None, {'x': np.array([1, 2.5, 3], np.float32)})[0]\n"
        "assert y.dtype.name == 'bfloat16' and y.astype(np.float32).tolist() == [1, 2.5, 3]\n"
    )
    assert "ml_dtypes" in imported_after(code, tmp_path)
