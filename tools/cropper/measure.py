"""Measures a build in a fresh interpreter: `import gossamer` time, each model's load time, and
its outputs on seeded random inputs (saved, so that a crop's outputs can be compared with the
full build's bit for bit). Installed sizes are counted from the files (no __pycache__)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .python_modules import package_data, package_dirs
from .wheel_build import CropError

# run as `python -c SCRIPT OUT.npz OPTIMIZE MODEL...`: prints one JSON line
_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import gossamer
imported = time.perf_counter() - t0
import numpy as np
out, optimize, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
loads, outputs = [], {}
for i, path in enumerate(models):
    t = time.perf_counter()
    session = gossamer.load(path, optimize=optimize)
    loads.append(time.perf_counter() - t)
    rng = np.random.default_rng(0)
    feeds = {}
    for v in session.inputs:
        shape = [d if isinstance(d, int) else (1 if k == 0 else 64) for k, d in
                 enumerate(v.shape or ())]
        dtype = np.dtype(v.dtype or "float32")
        if dtype.kind == "f":
            feeds[v.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[v.name] = np.zeros(shape, dtype)
    for v, value in zip(session.outputs, session.run(None, feeds)):
        outputs[f"{i}:{v.name}"] = np.asarray(value)
np.savez(out, **outputs)
print(json.dumps({"import_s": imported, "load_s": loads, "module": gossamer.__file__}))
"""


def run_models(
    python: list[str], env: dict[str, str], models: list[str], optimize: int, out: Path
) -> dict[str, Any]:
    """Runs the measuring script with `python` (argv prefix) in a clean working folder."""
    with tempfile.TemporaryDirectory(prefix="gossamer-crop-run-") as cwd:
        done = subprocess.run(
            [*python, "-c", _SCRIPT, str(out), str(optimize), *models],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        raise CropError(f"running the models in {' '.join(python)} failed:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_of(
    repeats: int, python: list[str], env: dict[str, str], models: list[str], optimize: int,
    out: Path,
) -> dict[str, Any]:  # fmt: skip
    """run_models `repeats` times (fresh processes); the fastest import and loads."""
    runs = [run_models(python, env, models, optimize, out) for _ in range(max(1, repeats))]
    best = dict(runs[0])
    best["import_s"] = min(r["import_s"] for r in runs)
    best["load_s"] = [min(r["load_s"][i] for r in runs) for i in range(len(models))]
    return best


def same_outputs(a: Path, b: Path) -> list[str]:
    """Names of the outputs that differ (bit for bit, NaNs equal) between two saved runs."""
    with np.load(a) as x, np.load(b) as y:
        names = sorted(set(x.files) | set(y.files))
        return [
            n
            for n in names
            if n not in x.files
            or n not in y.files
            or x[n].dtype != y[n].dtype
            or x[n].shape != y[n].shape
            or x[n].tobytes() != y[n].tobytes()
        ]


def folder_size(folder: Path) -> int:
    """Bytes of the files under `folder`, without __pycache__."""
    return sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def full_install_size(root: Path) -> int:
    """Bytes the full build installs: every module of every package in the tree's
    pyproject.toml, the built extension and the package data."""
    files: set[Path] = set()
    data = package_data(root)
    for package, folder in package_dirs(root).items():
        files |= {p for p in folder.iterdir() if p.is_file() and p.suffix in (".py", ".so", ".pyd")}
        for pattern in data.get(package, []):
            files |= {p for p in folder.glob(pattern) if p.is_file()}
    return sum(p.stat().st_size for p in files)


def isolated_python(site: Path, deps: Path) -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment that run a cropped install alone: no site-packages (-S), only
    the install and its three dependencies on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GOSSAMER_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(deps)])
    return [sys.executable, "-S"], env


def this_python() -> tuple[list[str], dict[str, str]]:
    """argv prefix and environment that run the full build (this interpreter, its site)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "GOSSAMER_"))}
    return [sys.executable], env
